/**
 * Dequantization of ggml's block formats to float32, as ggml defines each block (`dequantize_row_*` in
 * ggml-quants.c): the same float32 operations in the same order, so the values are bit-identical to llama.cpp's
 * reference path. Pure functions over bytes, browser-safe.
 *
 * @module
 */
import { type GgmlTypeName, ggmlByteSize } from './ggml-types.js';
import { bfloat16ArrayToFloat32, float16ArrayToFloat32, float16BitsToFloat32 } from './half-precision.js';

const fr = Math.fround;

function f16At(bytes: Uint8Array, at: number): number {
  return float16BitsToFloat32(bytes[at]! | (bytes[at + 1]! << 8));
}

/** Q8_0: per 32 weights an f16 scale d then 32 int8 q; value q·d. */
function dequantizeQ8_0(bytes: Uint8Array, out: Float32Array): void {
  for (let b = 0, at = 0; b < out.length; b += 32, at += 34) {
    const d = f16At(bytes, at);
    for (let j = 0; j < 32; j++) out[b + j] = ((bytes[at + 2 + j]! << 24) >> 24) * d;
  }
}

/** Q4_0: f16 d then 16 bytes; byte j's low nibble is element j, its high nibble element j + 16; value (q − 8)·d. */
function dequantizeQ4_0(bytes: Uint8Array, out: Float32Array): void {
  for (let b = 0, at = 0; b < out.length; b += 32, at += 18) {
    const d = f16At(bytes, at);
    for (let j = 0; j < 16; j++) {
      const q = bytes[at + 2 + j]!;
      out[b + j] = ((q & 15) - 8) * d;
      out[b + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

/**
 * The 6-bit scale and min of sub-block j (0–7) of a K-quant super-block, packed into 12 bytes: sub-blocks 0–3 keep
 * theirs in the low 6 bits of bytes j (scale) and j + 4 (min); sub-blocks 4–7 keep the low 4 bits in byte j + 4
 * (scale low nibble, min high nibble) and the top 2 bits in the spare top bits of bytes j − 4 (scale) and j (min).
 */
export function kQuantScaleMin(scales: Uint8Array, at: number, j: number): [scale: number, min: number] {
  if (j < 4) return [scales[at + j]! & 63, scales[at + j + 4]! & 63];
  const lo = scales[at + j + 4]!;
  return [(lo & 15) | ((scales[at + j - 4]! >> 6) << 4), (lo >> 4) | ((scales[at + j]! >> 6) << 4)];
}

/**
 * Q4_K: super-blocks of 256 = 8 sub-blocks of 32. Bytes: f16 d, f16 dmin, 12 bytes of packed 6-bit scales/mins,
 * 128 bytes of nibbles. Each 32-byte run of nibbles covers two sub-blocks: low nibbles the first, high the second.
 * Value d·scale·q − dmin·min.
 */
function dequantizeQ4_K(bytes: Uint8Array, out: Float32Array): void {
  for (let b = 0, at = 0; b < out.length; b += 256, at += 144) {
    const d = f16At(bytes, at);
    const dmin = f16At(bytes, at + 2);
    for (let pair = 0; pair < 4; pair++) {
      const [sc1, m1] = kQuantScaleMin(bytes, at + 4, 2 * pair);
      const [sc2, m2] = kQuantScaleMin(bytes, at + 4, 2 * pair + 1);
      const d1 = fr(d * sc1);
      const min1 = fr(dmin * m1);
      const d2 = fr(d * sc2);
      const min2 = fr(dmin * m2);
      const qs = at + 16 + 32 * pair;
      const y = b + 64 * pair;
      for (let l = 0; l < 32; l++) {
        const q = bytes[qs + l]!;
        out[y + l] = fr(d1 * (q & 15)) - min1;
        out[y + 32 + l] = fr(d2 * (q >> 4)) - min2;
      }
    }
  }
}

/**
 * Q6_K: super-blocks of 256 in two halves of 128. Bytes: ql[128] (low 4 bits), qh[64] (high 2 bits), int8
 * scales[16] (one per 16 weights), f16 d. In half n, element l + 32k (k = 0..3, l = 0..31) takes its low bits from
 * ql[64n + l + 32·(k & 1)] (low nibble for k < 2, high for k ≥ 2) and its high bits from bits 2k–2k+1 of
 * qh[32n + l]; value d·scale·(q − 32) with scale = scales[8n + l/16 + 2k].
 */
function dequantizeQ6_K(bytes: Uint8Array, out: Float32Array): void {
  for (let b = 0, at = 0; b < out.length; b += 256, at += 210) {
    const d = f16At(bytes, at + 208);
    for (let n = 0; n < 2; n++) {
      const ql = at + 64 * n;
      const qh = at + 128 + 32 * n;
      const sc = at + 192 + 8 * n;
      const y = b + 128 * n;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = bytes[qh + l]!;
        const lo0 = bytes[ql + l]!;
        const lo1 = bytes[ql + l + 32]!;
        const q1 = ((lo0 & 15) | ((h & 3) << 4)) - 32;
        const q2 = ((lo1 & 15) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((lo0 >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((lo1 >> 4) | (((h >> 6) & 3) << 4)) - 32;
        const s = (k: number) => (bytes[sc + is + 2 * k]! << 24) >> 24;
        out[y + l] = fr(d * s(0)) * q1;
        out[y + l + 32] = fr(d * s(1)) * q2;
        out[y + l + 64] = fr(d * s(2)) * q3;
        out[y + l + 96] = fr(d * s(3)) * q4;
      }
    }
  }
}

function littleEndianU16(bytes: Uint8Array, count: number): Uint16Array {
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  return new Uint16Array(bytes.slice(0, count * 2).buffer);
}

/**
 * Decodes `count` elements of ggml `type` from `bytes` (the tensor's raw data, row-major, blocks running along the
 * innermost dimension) to float32. `bytes` must hold exactly the bytes of `count` elements.
 *
 * @example dequantize('Q4_0', blockBytes, 32) // → Float32Array(32)
 * @throws Error naming the type and both sizes when they disagree.
 */
export function dequantize(type: GgmlTypeName, bytes: Uint8Array, count: number): Float32Array {
  const need = ggmlByteSize(type, count);
  if (bytes.byteLength !== need) {
    throw new Error(`dequantize ${type}: ${count} elements need ${need} bytes, got ${bytes.byteLength}`);
  }
  switch (type) {
    case 'F32':
      return bytes.byteOffset % 4 === 0
        ? new Float32Array(bytes.buffer, bytes.byteOffset, count)
        : new Float32Array(bytes.slice().buffer);
    case 'F16':
      return float16ArrayToFloat32(littleEndianU16(bytes, count));
    case 'BF16':
      return bfloat16ArrayToFloat32(littleEndianU16(bytes, count));
  }
  const out = new Float32Array(count);
  if (type === 'Q8_0') dequantizeQ8_0(bytes, out);
  else if (type === 'Q4_0') dequantizeQ4_0(bytes, out);
  else if (type === 'Q4_K') dequantizeQ4_K(bytes, out);
  else dequantizeQ6_K(bytes, out);
  return out;
}
