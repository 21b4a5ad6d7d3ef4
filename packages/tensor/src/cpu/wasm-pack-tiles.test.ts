import { describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { makeRng, refProductWithMagnitude } from '../testing/reference.js';
import { createCpuBackend } from './index.js';
import { matmul } from './matmul.js';
import { wasmMatmul } from './matmul-wasm.js';
import { CpuStorage, cpuData } from './storage.js';
import { heapBlock, heapBytesInUse, moveToHeap, releaseFromHeap } from './wasm-heap.js';
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

describe.runIf(wasmTile()?.shared)('matmul outputs written in place in wasm memory', () => {
  it('a large product lands in wasm memory, matches float64, equals the copied-out product, and is freed', () => {
    const rng = makeRng(9);
    const backend = createCpuBackend();
    for (const [M, K, N] of [
      [16, 36, 1030],
      [5, 292, 3334],
      [1, 36, 16392],
      [7, 20, 2400],
    ] as const) {
      const w = new CpuStorage('float32', uniform(rng, N * K));
      moveToHeap(w, K);
      const x = uniform(rng, M * K);
      const xView: View = { storage: new CpuStorage('float32', x), shape: [M, K], strides: [K, 1], offset: 0 };
      const wView: View = { storage: w, shape: [K, N], strides: [1, K], offset: 0 };
      const before = heapBytesInUse();
      const out = backend.matmul(xView, wView, []) as CpuStorage;
      expect(heapBlock(out), `[${M}, ${K}] · [${K}, ${N}] in wasm memory`).toBeDefined();
      const got = cpuData(out) as Float32Array;
      const { want, magnitude } = refProductWithMagnitude(x, w.data as Float32Array, M, K, N);
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(2e-7 * K * magnitude[i]! + 1e-30);
      }
      // The same kernels through the work area (no output offset): the same floats.
      const copied = new Float32Array(M * N);
      expect(wasmMatmul(x, [0], w.data as Float32Array, [0], true, w, copied, M, K, N)).toBe(true);
      expect(Array.from(got)).toEqual(Array.from(copied));
      // A row of the batch equals its one-row product.
      const row = M - 1;
      const one = matmul(
        {
          storage: new CpuStorage('float32', x.slice(row * K, row * K + K)),
          shape: [1, K],
          strides: [K, 1],
          offset: 0,
        },
        wView,
        [],
      );
      expect(Array.from(cpuData(one))).toEqual(Array.from(got.subarray(row * N, row * N + N)));
      backend.free(out);
      releaseFromHeap(one as CpuStorage);
      expect(heapBytesInUse()).toBe(before);
      releaseFromHeap(w);
    }
  });
});
