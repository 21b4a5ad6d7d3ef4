import { describe, expect, it } from 'vitest';
import { makeRng } from '../testing/reference.js';
import { simdPackTiles } from './wasm-pack-tiles.js';
import { packTiles, TILE_ROWS, wasmTile } from './wasm-tile.js';

const uniform = (rng: () => number, n: number) => Float32Array.from({ length: n }, () => 2 * rng() - 1);

describe.runIf(wasmTile() !== null)('SIMD packing of a for the dot kernels', () => {
  it('writes what the JS packTiles writes, padding rows and all, for row counts around the tile and odd K / 4', () => {
    const rng = makeRng(3);
    const f = new Float32Array(wasmTile()!.memory.buffer);
    for (const rows of [2, 3, 5, 6, 7, 9, 16, 17, 18]) {
      for (const K of [4, 36, 292]) {
        // The padded row count the dot kernels use: whole tiles, the last possibly a 2-row tail.
        const rest = rows % TILE_ROWS;
        const padded = rest === 0 ? rows : rest <= 2 ? rows - rest + 2 : rows - rest + TILE_ROWS;
        const base = 7;
        const src = uniform(rng, base + rows * K + 5);
        const want = new Float32Array(padded * K + 8).fill(Number.NaN);
        packTiles(src, base, rows, K, TILE_ROWS, padded, want, 0, K);
        // Garbage where the packed rows go (padding rows must come out as zeros), and a sentinel after them.
        f.fill(Number.NaN, 0, padded * K + 8);
        expect(simdPackTiles(src, base, rows, K, TILE_ROWS, padded, f, 0, padded * K + 16)).toBe(true);
        expect(Array.from(f.subarray(0, padded * K)), `${rows} rows, K ${K}`).toEqual(
          Array.from(want.subarray(0, padded * K)),
        );
        expect(Number.isNaN(f[padded * K]!)).toBe(true);
      }
    }
  });

  it('declines K not a multiple of 4 (the caller packs in JS)', () => {
    const f = new Float32Array(wasmTile()!.memory.buffer);
    expect(simdPackTiles(new Float32Array(4 * 7), 0, 4, 7, TILE_ROWS, 4, f, 0, 64)).toBe(false);
  });
});
