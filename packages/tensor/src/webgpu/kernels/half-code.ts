/**
 * WGSL fragments for float16 / bfloat16 storages, shared by every kernel that reads or writes them (the map kernel,
 * matmul). A half storage is the little-endian 2-byte elements, i.e. two per u32 word (element i in word i / 2, low
 * half first), padded to whole words. Two ways to bind it:
 * - packed (every adapter): `array<u32>`, loads decode one half of a word; stores go through atomicAnd/atomicOr on
 *   the word, so two invocations writing the two halves of one word cannot lose each other's bits;
 * - native (float16 on adapters with `shader-f16`, unless the runtime is forced to packed): `array<f16>`.
 * Encoding to a half is integer arithmetic on the float32 bits (round to nearest even, overflow to ±Infinity, NaN
 * kept, subnormals produced), so every adapter gives the same bits as the host codec in formats/half-precision.ts.
 *
 * @module
 */

import { type DType, isHalf } from '../../backend/backend.js';
import type { Runtime } from '../runtime.js';

/** True when `dtype`'s storages are bound as native `array<f16>` on this runtime. */
export function nativeHalf(rt: Runtime, dtype: DType): boolean {
  return dtype === 'float16' && rt.halfNative;
}

/** The `enable f16;` directive when any of `dtypes` binds natively on `rt`, else ''. */
export function halfEnable(rt: Runtime, dtypes: readonly DType[]): string {
  return dtypes.some((d) => nativeHalf(rt, d)) ? 'enable f16;\n' : '';
}

/** Cache-key tag of how `dtype` binds on `rt`: `p` (packed words), `n` (native f16) or '' (not half). */
export function halfTag(rt: Runtime, dtype: DType): string {
  return isHalf(dtype) ? (nativeHalf(rt, dtype) ? 'n' : 'p') : '';
}

/** The WGSL array type a half storage is bound as: `array<f16>`, `array<u32>` or, written packed, atomics. */
export function halfArray(rt: Runtime, dtype: DType, written: boolean): string {
  if (nativeHalf(rt, dtype)) return 'array<f16>';
  return written ? 'array<atomic<u32>>' : 'array<u32>';
}

/** A WGSL f32 expression: element `index` (a u32 expression) of the half storage `name`. */
export function halfLoad(rt: Runtime, dtype: DType, name: string, index: string): string {
  if (nativeHalf(rt, dtype)) return `f32(${name}[${index}])`;
  if (dtype === 'float16') return `unpack2x16float(${name}[(${index}) >> 1u])[(${index}) & 1u]`;
  return `bf16_value_(${name}[(${index}) >> 1u], (${index}) & 1u)`;
}

/** The {@link HALF_CODEC} function that encodes an f32 as `dtype`'s bits (low 16 of a u32), rounded to nearest even. */
export function halfEncoder(dtype: DType): 'f16_bits_' | 'bf16_bits_' {
  return dtype === 'float16' ? 'f16_bits_' : 'bf16_bits_';
}

/** A WGSL function `fn ${fn}(i: u32, v: f32)` storing v, rounded to nearest even, as element i of `name`. */
export function halfStoreFn(rt: Runtime, dtype: DType, name: string, fn: string): string {
  const bits = `${halfEncoder(dtype)}(v)`;
  if (nativeHalf(rt, dtype)) return `fn ${fn}(i: u32, v: f32) { ${name}[i] = bitcast<vec2<f16>>(${bits})[0]; }`;
  return `fn ${fn}(i: u32, v: f32) {
  let sh = (i & 1u) * 16u;
  atomicAnd(&${name}[i >> 1u], ~(0xffffu << sh));
  atomicOr(&${name}[i >> 1u], ${bits} << sh);
}`;
}

/** WGSL encoders and the bfloat16 decoder: the device twins of formats/half-precision.ts. */
export const HALF_CODEC = /* wgsl */ `
fn f16_bits_(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let ex = (x >> 23u) & 0xffu;
  let mant = x & 0x7fffffu;
  if (ex == 0xffu) { return sign | 0x7c00u | select(0u, 0x200u | (mant >> 13u), mant != 0u); }
  let e = i32(ex) - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    let m = mant | 0x800000u;
    let shift = u32(14 - e);
    let q = m >> shift;
    let rem = m & ((1u << shift) - 1u);
    let hw = 1u << (shift - 1u);
    return sign | select(q, q + 1u, rem > hw || (rem == hw && (q & 1u) == 1u));
  }
  let q = (u32(e) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  return sign | select(q, q + 1u, rem > 0x1000u || (rem == 0x1000u && (q & 1u) == 1u));
}
fn bf16_bits_(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x7fffffu) != 0u) { return ((x >> 16u) & 0x8000u) | 0x7fc0u; }
  return ((x + 0x7fffu + ((x >> 16u) & 1u)) >> 16u) & 0xffffu;
}
fn bf16_value_(w: u32, hi: u32) -> f32 { return bitcast<f32>(select(w << 16u, w & 0xffff0000u, hi == 1u)); }
`;
