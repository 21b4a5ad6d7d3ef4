/**
 * WebAssembly SIMD dot products against float16 / bfloat16 weight rows, assembled from opcodes and linked into the
 * matmul module of wasm-tile.ts (same memory, so weights moved there are read in place):
 * `(x, w, kBytes, n, o)` computes o[c] = Σ_k x[k]·decode(w_c[k]) for n rows w_c of halves at w, w + kBytes/2, …,
 * against x (float32, kBytes = 4·K bytes, K a multiple of 8), storing n floats at o. Addresses are bytes.
 *
 * Decoding, 8 halves per 16-byte load, per i32 lane h (a half zero-extended): bfloat16 is `h << 16`. float16 is
 * `((h & 0x7fff) << 13)` read as a float32 times 2¹¹² (exact for normals and subnormals alike: it moves the exponent
 * bias from 15 to 127), with the exponent bits then forced to all ones where the half's exponent field is 31
 * (±Infinity, NaN, mantissa kept); then the sign `(h & 0x8000) << 16` is or-ed in. Sums: two f32x4 accumulators (lanes k mod 8), added up at
 * the end.
 *
 * @module
 */
import type { HalfDType } from '../backend/backend.js';
import { simd, uleb } from './wasm-encoding.js';

/** A half-weight dot kernel: (x, w, kBytes, n, o), byte addresses in the module's memory. */
export type HalfDotKernel = (x: number, w: number, kBytes: number, n: number, o: number) => void;

const I32 = 0x7f;
const V128 = 0x7b;
const v128Load = (offset: number) => [...simd(0x00), 0, ...uleb(offset)];
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
function i32(n: number): number[] {
  const out = [0x41];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}
const i32x4Splat = (n: number) => [...i32(n), ...simd(0x11)];
const f32x4Splat = (x: number) => [0x43, ...new Uint8Array(Float32Array.of(x).buffer), ...simd(0x13)];
const AND = simd(0x4e);
const OR = simd(0x50);
const EXTEND_LOW = simd(0xa9); // i32x4.extend_low_i16x8_u
const EXTEND_HIGH = simd(0xaa); // i32x4.extend_high_i16x8_u
const SHL = simd(0xab); // i32x4.shl
const GT_S = simd(0x3b); // i32x4.gt_s
const F_ADD = simd(0xe4);
const F_MUL = simd(0xe6);
const lane = (i: number) => [...simd(0x1f), i];
const [ADD, SHR_U, LT_U, EQZ, F32_ADD, F32_STORE] = [0x6a, 0x76, 0x49, 0x45, 0x92, 0x38];
const [BLOCK, LOOP, BR_IF, END, VOID] = [0x02, 0x03, 0x0d, 0x0b, 0x40];

// Params: x, w, kBytes (bytes of x per dot: 4·K, K a multiple of 8), n, o. Locals: k, col, acc0, acc1, h, halves,
// and the decoder's constants (splatted once, outside the loops).
const [X, W, K_BYTES, N, O, K, COL, ACC0, ACC1, H, HALVES] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const [C_MAG, C_INF, C_SCALE, C_MAXFIN, C_SIGN, T] = [11, 12, 13, 14, 15, 16];

/**
 * The i32x4 of zero-extended halves on the stack → their f32x4 values (uses locals H, T). float16: the magnitude
 * m = h & 0x7fff, T = m << 13, value = T·2¹¹² with the exponent bits forced to all ones where m > 0x7bff (±Infinity
 * and NaN keep their mantissa), then the sign (h & 0x8000) << 16 or-ed in.
 */
function decode(dtype: HalfDType): number[] {
  if (dtype === 'bfloat16') return [...i32(16), ...SHL];
  return [
    ...tee(H), // h
    ...get(C_MAG),
    ...AND,
    ...tee(T), // m
    ...get(C_MAXFIN),
    ...GT_S,
    ...get(C_INF),
    ...AND, // exponent bits to force
    ...get(T),
    ...i32(13),
    ...SHL,
    ...get(C_SCALE),
    ...F_MUL,
    ...OR,
    ...get(H),
    ...get(C_SIGN),
    ...AND,
    ...i32(16),
    ...SHL,
    ...OR,
  ];
}

function kernel(dtype: HalfDType): number[] {
  const body: number[] = [];
  body.push(...i32x4Splat(0x7fff), ...set(C_MAG), ...i32x4Splat(0x7f800000), ...set(C_INF));
  body.push(...f32x4Splat(2 ** 112), ...set(C_SCALE), ...i32x4Splat(0x7bff), ...set(C_MAXFIN));
  body.push(...i32x4Splat(0x8000), ...set(C_SIGN));
  body.push(...i32(0), ...set(COL), BLOCK, VOID, ...get(N), EQZ, BR_IF, 0, LOOP, VOID);
  body.push(...f32x4Splat(0), ...set(ACC0), ...f32x4Splat(0), ...set(ACC1), ...i32(0), ...set(K), LOOP, VOID);
  // 8 halves at w + k/2; x[k..k+4) and x[k+4..k+8)
  body.push(...get(W), ...get(K), ...i32(1), SHR_U, ADD, ...v128Load(0), ...set(HALVES));
  body.push(...get(ACC0), ...get(X), ...get(K), ADD, ...v128Load(0), ...get(HALVES), ...EXTEND_LOW);
  body.push(...decode(dtype), ...F_MUL, ...F_ADD, ...set(ACC0));
  body.push(...get(ACC1), ...get(X), ...get(K), ADD, ...v128Load(16), ...get(HALVES), ...EXTEND_HIGH);
  body.push(...decode(dtype), ...F_MUL, ...F_ADD, ...set(ACC1));
  body.push(...get(K), ...i32(32), ADD, ...tee(K), ...get(K_BYTES), LT_U, BR_IF, 0, END);
  // o[col] = (l0 + l1) + (l2 + l3) of acc0 + acc1; the weight advances one row (kBytes / 2), o one float.
  body.push(...get(ACC0), ...get(ACC1), ...F_ADD, ...set(ACC0), ...get(O));
  body.push(...get(ACC0), ...lane(0), ...get(ACC0), ...lane(1), F32_ADD);
  body.push(...get(ACC0), ...lane(2), ...get(ACC0), ...lane(3), F32_ADD, F32_ADD, F32_STORE, 2, 0);
  body.push(...get(W), ...get(K_BYTES), ...i32(1), SHR_U, ADD, ...set(W));
  body.push(...get(O), ...i32(4), ADD, ...set(O));
  body.push(...get(COL), ...i32(1), ADD, ...tee(COL), ...get(N), LT_U, BR_IF, 0, END, END, END);
  const locals = [2, ...uleb(2), I32, ...uleb(10), V128];
  return [...locals, ...body];
}

/** Bodies of the half-weight kernels, exported from the matmul module under these names (type: 5 × i32 → ()). */
export const HALF_DOT_KERNELS: Record<HalfDType, () => number[]> = {
  float16: () => kernel('float16'),
  bfloat16: () => kernel('bfloat16'),
};
