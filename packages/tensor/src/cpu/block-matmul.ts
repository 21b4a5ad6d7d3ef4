/**
 * The CPU kernel of x · Wᵀ for block-format weights (f16, bf16, Q8_0, Q4_0, Q4_K, Q6_K): each weight row is decoded
 * once per call into a reused float32 buffer with ggml's own definitions (the shared `formats/` decoders), then dotted
 * with every row of x in float64. Decoding per row keeps memory at one row however large the weight.
 *
 * @module
 */
import type { BlockType, Storage, View } from '../backend/backend.js';
import { dequantizeBlocksInto } from '../formats/ggml-dequantize.js';
import { ggmlByteSize } from '../formats/ggml-types.js';
import { bfloat16BitsToFloat32, float16ArrayToFloat32 } from '../formats/half-precision.js';
import { cpuData } from './storage.js';

let f16Table: Float32Array | undefined;

/** All 65 536 float16 values, built once (a lookup per weight instead of bit twiddling). */
function float16Table(): Float32Array {
  if (f16Table === undefined) {
    const bits = new Uint16Array(0x10000);
    for (let h = 0; h < 0x10000; h++) bits[h] = h;
    f16Table = float16ArrayToFloat32(bits);
  }
  return f16Table;
}

/** Decodes weight row `row` (k elements, `rowBytes` bytes each) into `out`. */
function decodeRow(type: BlockType, bytes: Uint8Array, row: number, rowBytes: number, out: Float32Array): void {
  const at = row * rowBytes;
  if (type === 'F16' || type === 'BF16') {
    const table = type === 'F16' ? float16Table() : undefined;
    for (let j = 0, o = at; j < out.length; j++, o += 2) {
      const h = bytes[o]! | (bytes[o + 1]! << 8);
      out[j] = table ? table[h]! : bfloat16BitsToFloat32(h);
    }
    return;
  }
  dequantizeBlocksInto(type, bytes.subarray(at, at + rowBytes), out);
}

/** out [m, n] = x [m, k] · Wᵀ with W [n, k] in `type`'s bytes held by the int32 storage `weight`. */
export function blockMatmul(x: View, weight: Storage, type: BlockType, n: number, k: number): Float32Array {
  const xs = cpuData(x.storage) as Float32Array;
  const words = cpuData(weight);
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const m = k === 0 ? 0 : (x.shape.reduce((a, b) => a * b, 1) as number) / k;
  const rowBytes = ggmlByteSize(type, k);
  const out = new Float32Array(m * n);
  const w = new Float32Array(k);
  for (let row = 0; row < n; row++) {
    decodeRow(type, bytes, row, rowBytes, w);
    for (let i = 0; i < m; i++) {
      const xb = x.offset + i * k;
      let s0 = 0;
      let s1 = 0;
      let j = 0;
      for (; j + 1 < k; j += 2) {
        s0 += xs[xb + j]! * w[j]!;
        s1 += xs[xb + j + 1]! * w[j + 1]!;
      }
      if (j < k) s0 += xs[xb + j]! * w[j]!;
      out[i * n + row] = s0 + s1;
    }
  }
  return out;
}
