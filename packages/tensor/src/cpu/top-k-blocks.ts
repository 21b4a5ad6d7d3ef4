/**
 * Top-k of a row of logits over the blocks that can hold it: the SIMD kernel gives each block of 64 its maximum, the
 * k-th largest of those maxima, τ, is at most the row's k-th largest value (k blocks each hold a value ≥ τ), so every
 * one of the top k is ≥ τ and lies in a block whose maximum is ≥ τ. Only those blocks (about k of 500 at vocab
 * 32 000) are scanned, and their values ≥ τ ranked in id order by the same insertion as {@link topKIndices}: the
 * same ids, ties by lowest id. Why: the
 * insertion over all 32 000 logits was ~70 µs of an ~85 µs top-k-40 row.
 *
 * @module
 */
import { topKIndices } from './top-k.js';
import { ensureMemory, rowAddress, WORK_BYTES } from './wasm-heap.js';
import { BLOCK, wasmSampling } from './wasm-sampling.js';

/** Candidates' values and ids, reused across rows. */
let values = new Float32Array(0);
let ids = new Int32Array(0);

/**
 * Indices of the k largest values of `x`, best first, ties by lowest index: {@link topKIndices}'s answer, or null
 * where this path does not apply (a NaN in the row, k < 1 or too large to pay, no SIMD kernels).
 */
export function topKByBlocks(x: Float32Array, k: number): Int32Array | null {
  const wasm = wasmSampling();
  const n = x.length;
  const padded = Math.ceil(n / BLOCK) * BLOCK;
  const blocks = padded / BLOCK;
  const need = 4 * padded + 4 * blocks;
  if (!wasm || k < 1 || 4 * k > blocks || need > WORK_BYTES || !ensureMemory(wasm.memory, need)) return null;
  const at = rowAddress(wasm.memory, x, n, BLOCK, Number.NEGATIVE_INFINITY);
  if (wasm.blockMaxima(at, 4 * padded, 4 * padded) !== 0) return null; // NaN: topKIndices' own order applies
  const maxima = new Float32Array(wasm.memory.buffer, 4 * padded, blocks);
  const tau = maxima[topKIndices(maxima, k)[k - 1]!]!;
  if (values.length < n) {
    values = new Float32Array(n);
    ids = new Int32Array(n);
  }
  // Only values ≥ τ can be among the top k (k of them are): those of the blocks whose maximum reaches τ, in id order.
  let count = 0;
  for (let b = 0; b < blocks; b++) {
    if (!(maxima[b]! >= tau)) continue;
    for (let i = b * BLOCK; i < Math.min(n, (b + 1) * BLOCK); i++) {
      if (!(x[i]! >= tau)) continue;
      values[count] = x[i]!;
      ids[count++] = i;
    }
  }
  const best = topKIndices(values.subarray(0, count), k);
  for (let j = 0; j < best.length; j++) best[j] = ids[best[j]!]!;
  return best;
}
