/*
 * Float16 (IEEE 754 binary16) and bfloat16 conversions. Float32 → half rounds to nearest, ties to even
 * (what numpy, PyTorch and hardware do); NaN stays NaN (quiet), overflow goes to ±Infinity.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Bits of the float16 nearest to `value` (round to nearest even). */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  return float16FromFloat32Bits(u32[0]!);
}

/** Bits of the float16 nearest to the float32 whose bits are `x` (round to nearest even). */
function float16FromFloat32Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): value = m · 2^(e − 14 − 10) with the implicit bit made explicit.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const q = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return sign | (rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q);
  }
  const q = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and 0x7bff + 1 becomes Infinity).
  return sign | (rem > 0x1000 || (rem === 0x1000 && (q & 1) === 1) ? q + 1 : q);
}

/** The value of float16 bits `h`. */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : Number.NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** Bits of the bfloat16 nearest to `value` (round to nearest even). */
export function float32ToBfloat16Bits(value: number): number {
  f32[0] = value;
  return bfloat16FromFloat32Bits(u32[0]!);
}

/** Bits of the bfloat16 nearest to the float32 whose bits are `x` (round to nearest even). */
function bfloat16FromFloat32Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The value of bfloat16 bits `b` (exact: bfloat16 is the top half of a float32). */
export function bfloat16BitsToFloat32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

/** Converts float32 values to float16 bits, element-wise. */
export function float32ArrayToFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  return out;
}

let float16Table: Float32Array | undefined;
let bfloat16Table: Float32Array | undefined;

/** The value of every half bit pattern of `dtype` (65 536 entries, built once): decoding a half is one lookup. */
export function halfValueTable(dtype: 'float16' | 'bfloat16'): Float32Array {
  if (dtype === 'float16') {
    if (float16Table === undefined) {
      float16Table = new Float32Array(0x10000);
      for (let h = 0; h < 0x10000; h++) float16Table[h] = float16BitsToFloat32(h);
    }
    return float16Table;
  }
  if (bfloat16Table === undefined)
    bfloat16Table = bfloat16ArrayToFloat32(Uint16Array.from({ length: 0x10000 }, (_, b) => b));
  return bfloat16Table;
}

/** Converts float16 bits to float32 values, element-wise (through a 65 536-entry table: loading F16 weights is a lookup). */
export function float16ArrayToFloat32(bits: ArrayLike<number>): Float32Array {
  const table = halfValueTable('float16');
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]! & 0xffff]!;
  return out;
}

/** Converts float32 values to bfloat16 bits, element-wise. */
export function float32ArrayToBfloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToBfloat16Bits(values[i]!);
  return out;
}

/** Converts bfloat16 bits to float32 values, element-wise. */
export function bfloat16ArrayToFloat32(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = (bits[i]! & 0xffff) << 16;
  return out;
}

/** Bits of `values` rounded to `dtype` (nearest even), element-wise: the one host encoder of half tensors. */
export function encodeHalf(dtype: 'float16' | 'bfloat16', values: ArrayLike<number>): Uint16Array {
  return dtype === 'float16' ? float32ArrayToFloat16(values) : float32ArrayToBfloat16(values);
}

/**
 * {@link encodeHalf} of the float32s `src` into `dst` from element `at`, without allocating: the float32 bits are read
 * through an integer view of src's buffer (a paged KV cache's new rows, written every step).
 */
export function encodeHalfInto(dtype: 'float16' | 'bfloat16', src: Float32Array, dst: Uint16Array, at: number): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  if (dtype === 'float16') for (let i = 0; i < bits.length; i++) dst[at + i] = float16FromFloat32Bits(bits[i]!);
  else for (let i = 0; i < bits.length; i++) dst[at + i] = bfloat16FromFloat32Bits(bits[i]!);
}

/** Values of half bits of `dtype`, element-wise (exact): the one host decoder of half tensors. */
export function decodeHalf(dtype: 'float16' | 'bfloat16', bits: ArrayLike<number>): Float32Array {
  return dtype === 'float16' ? float16ArrayToFloat32(bits) : bfloat16ArrayToFloat32(bits);
}

/** Bits of the `dtype` half nearest to `value` (round to nearest even). */
export function halfBits(dtype: 'float16' | 'bfloat16', value: number): number {
  return dtype === 'float16' ? float32ToFloat16Bits(value) : float32ToBfloat16Bits(value);
}
