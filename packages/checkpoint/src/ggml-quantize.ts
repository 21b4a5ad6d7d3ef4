/**
 * Quantization of float32 values to ggml's Q8_0 and Q4_0 blocks with the reference rounding of ggml-quants.c
 * (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`): each float32 operation is rounded to float32 as C does, so
 * the same input gives byte-identical blocks to llama.cpp's. Also encodes F32/F16/BF16 for the GGUF writer.
 *
 * @module
 */
import { type GgmlTypeName, ggmlByteSize } from './ggml-types.js';
import { float32ArrayToBfloat16, float32ArrayToFloat16, float32ToFloat16Bits } from './half-precision.js';

const fr = Math.fround;

/** C's `roundf`: halves away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * Q8_0: amax = max |x| of the 32 values, d = amax / 127, q = roundf(x · (1/d)) (0 when d is 0); d stored as f16
 * (rounded to nearest even), the int8 q after it.
 */
function quantizeQ8_0(values: Float32Array, out: Uint8Array): void {
  for (let b = 0, at = 0; b < values.length; b += 32, at += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b + j]!));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    const bits = float32ToFloat16Bits(d);
    out[at] = bits & 255;
    out[at + 1] = bits >> 8;
    for (let j = 0; j < 32; j++) out[at + 2 + j] = roundHalfAway(fr(values[b + j]! * id)) & 255;
  }
}

/**
 * Q4_0: max = the value of largest magnitude (the first one on ties, sign kept), d = max / −8, id = 1/d; each
 * value becomes min(15, trunc(x·id + 8.5)), so the extreme value maps to 0 and the rest round half up into 0–15.
 * Element j goes in the low nibble of byte j, element j + 16 in its high nibble.
 */
function quantizeQ4_0(values: Float32Array, out: Uint8Array): void {
  for (let b = 0, at = 0; b < values.length; b += 32, at += 18) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = values[b + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    const bits = float32ToFloat16Bits(d);
    out[at] = bits & 255;
    out[at + 1] = bits >> 8;
    for (let j = 0; j < 16; j++) {
      const lo = Math.min(15, Math.trunc(fr(fr(values[b + j]! * id) + 8.5)));
      const hi = Math.min(15, Math.trunc(fr(fr(values[b + j + 16]! * id) + 8.5)));
      out[at + 2 + j] = lo | (hi << 4);
    }
  }
}

/** The ggml types {@link quantize} can write. */
export type GgmlWritableType = Extract<GgmlTypeName, 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0'>;

/**
 * Encodes float32 values as ggml `type` bytes (row-major; blocks run along the innermost dimension, so its length
 * must be a multiple of 32 for Q8_0/Q4_0).
 *
 * @example quantize('Q8_0', new Float32Array(64)) // → 68 bytes: two blocks
 * @throws Error when the values are not a whole number of blocks.
 */
export function quantize(type: GgmlWritableType, values: Float32Array): Uint8Array {
  const size = ggmlByteSize(type, values.length);
  switch (type) {
    case 'F32':
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case 'F16': {
      const bits = float32ArrayToFloat16(values);
      return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
    }
    case 'BF16': {
      const bits = float32ArrayToBfloat16(values);
      return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
    }
  }
  const out = new Uint8Array(size);
  if (type === 'Q8_0') quantizeQ8_0(values, out);
  else quantizeQ4_0(values, out);
  return out;
}
