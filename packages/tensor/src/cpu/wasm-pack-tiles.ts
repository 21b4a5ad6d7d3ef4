/**
 * The dot kernels' packing of a (wasm-tile.ts `packTiles`) as a WebAssembly SIMD kernel: one 16-byte load and store
 * per 4 floats instead of four scalar JS copies. Why: matmul packs a for every product, and in a 16-row stories-15m
 * decode step (43 products, ~240 k floats) the JS loop cost ~0.33 ms, 1.4 ns per float (profile, 2026-12-05).
 *
 * `packTile(src, srcStride, rows, t, kBytes, dst)`: rows [0, rows) of a tile of t rows (rows ≤ t), each kBytes long
 * (a multiple of 16) at src + r·srcStride, interleaved per 16 bytes: row r's bytes [p, p + 16) go to
 * dst + p·t + 16·r. Slots of rows [rows, t) are left as they are (the caller zeroes them).
 *
 * @module
 */

import { get, I32, op, set, v128Load, v128Store, vec } from './wasm-encoding.js';
import { ensureMemory, WORK_BYTES } from './wasm-heap.js';
import { addTo, instantiateOnTileMemory } from './wasm-kernel-module.js';
import { wasmTile } from './wasm-tile.js';

/** `packTile`: params src 0, srcStride 1, rows 2, t 3, kBytes 4, dst 5 (see the module comment). */
function packTileBody(): number[] {
  const [p, s, d, r, step] = [6, 7, 8, 9, 10]; // i32
  const b: number[] = [];
  // step = 16·t: dst advances by one 16-byte slot per row of the tile for each 16 bytes of k.
  b.push(...get(3), op.i32Const, 4, 0x74 /* i32.shl */, ...set(step), op.i32Const, 0, ...set(p));
  b.push(op.block, 0x40, op.loop, 0x40, ...get(p), ...get(4), op.i32GeU, op.brIf, 1);
  b.push(...get(0), ...get(p), op.i32Add, ...set(s), ...get(5), ...set(d), op.i32Const, 0, ...set(r));
  b.push(op.block, 0x40, op.loop, 0x40, ...get(r), ...get(2), op.i32GeU, op.brIf, 1);
  b.push(...get(d), ...get(s), ...v128Load(), ...v128Store());
  b.push(...addTo(s, 1), ...get(d), op.i32Const, 16, op.i32Add, ...set(d));
  b.push(...get(r), op.i32Const, 1, op.i32Add, ...set(r), op.br, 0, op.end, op.end);
  b.push(...addTo(5, step), ...get(p), op.i32Const, 16, op.i32Add, ...set(p), op.br, 0, op.end, op.end, op.end);
  return [...vec([[5, I32]]), ...b];
}

type PackTile = (src: number, srcStride: number, rows: number, t: number, kBytes: number, dst: number) => void;

let kernel: PackTile | null | undefined;

/** The kernel, instantiated on first use; null where the SIMD kernels are unavailable. */
function packTileKernel(): PackTile | null {
  if (kernel !== undefined) return kernel;
  const e = instantiateOnTileMemory([
    { name: 'packTile', params: [I32, I32, I32, I32, I32, I32], body: packTileBody() },
  ]);
  kernel = (e?.packTile as PackTile | undefined) ?? null;
  return kernel;
}

/**
 * What `packTiles(src, base, rows, K, tileRows, padded, f, off, K)` writes (wasm-tile.ts), for K a multiple of 4,
 * into the tile module's memory `f` at float offset `off`: the rows are first copied to float offset `stage` (room for
 * rows·K floats), then interleaved there by the SIMD kernel. False, having written nothing, where the kernel is
 * unavailable, K is not a multiple of 4, or the floats up to `stage + rows·K` do not fit the work area.
 */
export function simdPackTiles(
  src: Float32Array,
  base: number,
  rows: number,
  K: number,
  tileRows: number,
  padded: number,
  f: Float32Array,
  off: number,
  stage: number,
): boolean {
  const pack = K % 4 === 0 ? packTileKernel() : null;
  const tile = wasmTile();
  if (!pack || !tile || 4 * (stage + rows * K) > WORK_BYTES || !ensureMemory(tile.memory, 4 * (stage + rows * K))) {
    return false;
  }
  f.set(src.subarray(base, base + rows * K), stage);
  for (let t0 = 0; t0 < padded; t0 += tileRows) {
    const t = Math.min(tileRows, padded - t0);
    const present = Math.max(0, Math.min(t, rows - t0));
    const dst = off + t0 * K;
    if (present < t) f.fill(0, dst, dst + t * K);
    if (present > 0) pack(4 * (stage + t0 * K), 4 * K, present, t, 4 * K, 4 * dst);
  }
  return true;
}
