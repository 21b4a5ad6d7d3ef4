/**
 * Runs the half-weight SIMD dots (half-dot-kernel.ts, linked into wasm-tile.ts's module) for few-row products: x rows
 * go to the work area at the bottom of the module's memory (wasm-heap.ts); the weight is read in place when it lives
 * in wasm memory (moved there on its second use as a weight, like a float32 one) with rows of a multiple of 8
 * elements, else its bits are copied into the work area for the call.
 *
 * @module
 */
import type { HalfDType } from '../backend/backend.js';
import type { CpuStorage } from './storage.js';
import { ensureMemory, heapBlock, WORK_BYTES } from './wasm-heap.js';
import { wasmTile } from './wasm-tile.js';

/**
 * o[m, n] = Σ_k a[m, k]·w[n, k] for M rows of a (row-major at aOffset, row stride K) and N rows of `storage`'s halves
 * (row n at wOffset + n·rowStride, K-contiguous), into o (row-major at oOffset, row stride N). Returns false, having
 * written nothing, where WebAssembly SIMD is unavailable or the operands do not fit the work area.
 */
export function halfDotRows(
  storage: CpuStorage,
  a: Float32Array,
  aOffset: number,
  M: number,
  wOffset: number,
  rowStride: number,
  N: number,
  K: number,
  o: Float32Array,
  oOffset: number,
): boolean {
  const wasm = wasmTile();
  if (!wasm) return false;
  const dtype = storage.dtype as HalfDType;
  const K8 = Math.ceil(K / 8) * 8;
  const xBytes = 4 * K8;
  const block = heapBlock(storage);
  const inPlace = block !== undefined && K8 === K && rowStride === K;
  const wBytes = inPlace ? 0 : 2 * K8 * N;
  const need = xBytes + wBytes + 4 * N;
  if (need > WORK_BYTES || !ensureMemory(wasm.memory, WORK_BYTES)) return false;
  const buf = wasm.memory.buffer;
  let wAddr = xBytes;
  if (inPlace) wAddr = 4 * block.start + 2 * wOffset;
  else {
    const w = storage.data as Uint16Array;
    const ws = new Uint16Array(buf, xBytes, K8 * N);
    if (K8 === K && rowStride === K) ws.set(w.subarray(wOffset, wOffset + N * K));
    else {
      // Rows padded to a multiple of 8 with zero bits (+0), which add nothing to the sums.
      for (let n = 0; n < N; n++) {
        const row = wOffset + n * rowStride;
        ws.set(w.subarray(row, row + K), n * K8);
        ws.fill(0, n * K8 + K, (n + 1) * K8);
      }
    }
  }
  const xs = new Float32Array(buf, 0, K8);
  const outAddr = xBytes + wBytes;
  const out = new Float32Array(buf, outAddr, N);
  xs.fill(0, K);
  for (let m = 0; m < M; m++) {
    xs.set(a.subarray(aOffset + m * K, aOffset + (m + 1) * K));
    wasm[dtype](0, wAddr, xBytes, N, outAddr);
    o.set(out, oOffset + m * N);
  }
  return true;
}
