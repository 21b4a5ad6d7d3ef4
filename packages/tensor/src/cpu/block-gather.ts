/**
 * Rows of a block weight decoded to float32 on the host, one row at a time with ggml's definitions, so a half-float
 * or quantized token table is never expanded (LLaMA-7B's: 262 MB in F16, 74 MB in Q4_0, 524 MB as float32).
 *
 * @module
 */
import type { BlockType, Storage, View } from '../backend/backend.js';
import { dequantize } from '../formats/ggml-dequantize.js';
import { ggmlByteSize } from '../formats/ggml-types.js';
import { CpuStorage, cpuStorage, readView } from './storage.js';

/** out [N, k] float32: rows `ids` [N] (int32, pre-validated in [0, rows)) of the weight [rows, k] of `type`. */
export function blockGather(weight: Storage, ids: View, type: BlockType, k: number): CpuStorage {
  const idx = readView(ids);
  // Read `data` at each use: placing the weight in wasm memory replaces the array (storage.ts).
  const words = cpuStorage(weight).data;
  const rowBytes = ggmlByteSize(type, k);
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const out = new Float32Array(idx.length * k);
  for (let i = 0; i < idx.length; i++) {
    const id = idx[i] as number;
    out.set(dequantize(type, bytes.subarray(id * rowBytes, (id + 1) * rowBytes), k), i * k);
  }
  return new CpuStorage('float32', out);
}
