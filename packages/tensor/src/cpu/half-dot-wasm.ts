/**
 * WebAssembly SIMD dot products against float16 / bfloat16 weights: o[n] = Σ_k x[k]·decode(w[n, k]) for a weight
 * stored [N, K] (K-contiguous, the Linear layout), decoding 8 halves per 16-byte load in registers, so the one-row
 * decode step needs neither a 65 536-entry table (scalar JS) nor a float32 copy of the weight. Assembled from opcodes
 * like wasm-tile.ts. The module has its own memory; each call copies x and the weight's bits in (2 bytes an element).
 *
 * Decoding, per i32 lane h (a half zero-extended): bfloat16 is `h << 16`. float16 is `((h & 0x7fff) << 13)` read as
 * a float32 times 2¹¹² (exact for normals and subnormals alike: it moves the exponent bias from 15 to 127); where
 * the exponent field is 31 it is `((h & 0x7fff) << 13) | 0x7f800000` instead (±Infinity, NaN); then the sign
 * `(h & 0x8000) << 16` is or-ed in. Sums: two f32x4 accumulators (lanes k mod 8), added up at the end.
 *
 * @module
 */
import type { HalfDType } from '../backend/backend.js';
import { uleb } from './wasm-tile.js';

const I32 = 0x7f;
const V128 = 0x7b;
const simd = (code: number) => [0xfd, ...uleb(code)];
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
const BITSELECT = simd(0x52);
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
const [C_MAG, C_INF, C_SCALE, C_MAXFIN, C_SIGN] = [11, 12, 13, 14, 15];

/** The i32x4 of zero-extended halves on the stack → their f32x4 values (uses local H). */
function decode(dtype: HalfDType): number[] {
  if (dtype === 'bfloat16') return [...i32(16), ...SHL];
  return [
    ...get(C_MAG),
    ...AND,
    ...set(H), // h & 0x7fff
    ...get(H),
    ...i32(13),
    ...SHL,
    ...get(C_INF),
    ...OR, // Inf / NaN bits
    ...get(H),
    ...i32(13),
    ...SHL,
    ...get(C_SCALE),
    ...F_MUL, // normal / subnormal value
    ...get(H),
    ...get(C_MAXFIN),
    ...GT_S,
    ...BITSELECT,
  ];
}

/** The sign bits of the halves: (halves & 0x8000) << 16, for the lanes extended by `extend`. */
const signOf = (extend: number[]) => [...get(HALVES), ...extend, ...get(C_SIGN), ...AND, ...i32(16), ...SHL];

function kernel(dtype: HalfDType): number[] {
  const body: number[] = [];
  body.push(...i32x4Splat(0x7fff), ...set(C_MAG), ...i32x4Splat(0x7f800000), ...set(C_INF));
  body.push(...f32x4Splat(2 ** 112), ...set(C_SCALE), ...i32x4Splat(0x7bff), ...set(C_MAXFIN));
  body.push(...i32x4Splat(0x8000), ...set(C_SIGN));
  body.push(...i32(0), ...set(COL), BLOCK, VOID, ...get(N), EQZ, BR_IF, 0, LOOP, VOID);
  body.push(...f32x4Splat(0), ...set(ACC0), ...f32x4Splat(0), ...set(ACC1), ...i32(0), ...set(K), LOOP, VOID);
  // 8 halves at w + k/2; x[k..k+4) and x[k+4..k+8)
  body.push(...get(W), ...get(K), ...i32(1), SHR_U, ADD, ...v128Load(0), ...set(HALVES));
  const sign = (extend: number[]) => (dtype === 'float16' ? [...signOf(extend), ...OR] : []);
  body.push(...get(ACC0), ...get(X), ...get(K), ADD, ...v128Load(0), ...get(HALVES), ...EXTEND_LOW);
  body.push(...decode(dtype), ...sign(EXTEND_LOW), ...F_MUL, ...F_ADD, ...set(ACC0));
  body.push(...get(ACC1), ...get(X), ...get(K), ADD, ...v128Load(16), ...get(HALVES), ...EXTEND_HIGH);
  body.push(...decode(dtype), ...sign(EXTEND_HIGH), ...F_MUL, ...F_ADD, ...set(ACC1));
  body.push(...get(K), ...i32(32), ADD, ...tee(K), ...get(K_BYTES), LT_U, BR_IF, 0, END);
  // o[col] = (l0 + l1) + (l2 + l3) of acc0 + acc1; the weight advances one row (kBytes / 2), o one float.
  body.push(...get(ACC0), ...get(ACC1), ...F_ADD, ...set(ACC0), ...get(O));
  body.push(...get(ACC0), ...lane(0), ...get(ACC0), ...lane(1), F32_ADD);
  body.push(...get(ACC0), ...lane(2), ...get(ACC0), ...lane(3), F32_ADD, F32_ADD, F32_STORE, 2, 0);
  body.push(...get(W), ...get(K_BYTES), ...i32(1), SHR_U, ADD, ...set(W));
  body.push(...get(O), ...i32(4), ADD, ...set(O));
  body.push(...get(COL), ...i32(1), ADD, ...tee(COL), ...get(N), LT_U, BR_IF, 0, END, END, END);
  const locals = [2, ...uleb(2), I32, ...uleb(9), V128];
  return [...locals, ...body];
}

const name = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

/** The module: memory `mem` and the kernels `f16` and `bf16`, each (x, w, kBytes, n, o) → (). */
export function halfDotModuleBytes(): Uint8Array<ArrayBuffer> {
  const bodies = [kernel('float16'), kernel('bfloat16')];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, 5, I32, I32, I32, I32, I32, 0]])),
    ...section(3, vec([[0], [0]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(
      7,
      vec([
        [...name('mem'), 0x02, 0],
        [...name('f16'), 0x00, 0],
        [...name('bf16'), 0x00, 1],
      ]),
    ),
    ...section(10, vec(bodies.map((b) => [...uleb(b.length), ...b]))),
  ]);
}

type HalfDot = (x: number, w: number, kBytes: number, n: number, o: number) => void;
let instance: { memory: WebAssembly.Memory; float16: HalfDot; bfloat16: HalfDot } | null | undefined;

function halfDot(): typeof instance {
  if (instance !== undefined) return instance;
  instance = null;
  try {
    const bytes = halfDotModuleBytes();
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return instance;
    const e = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
    instance = { memory: e.mem as WebAssembly.Memory, float16: e.f16 as HalfDot, bfloat16: e.bf16 as HalfDot };
  } catch {
    // No WebAssembly SIMD (or a Content-Security-Policy against compiling it): callers use the scalar kernel.
  }
  return instance;
}

/**
 * o[m, n] = Σ_k a[m, k]·w[n, k] for M rows of a (row-major at aOffset, row stride K) and N rows of w, the bits of
 * `dtype` halves (row n at wOffset + n·rowStride, K-contiguous), into o (row-major at oOffset, row stride N).
 * Returns false (having written nothing) where WebAssembly SIMD is unavailable.
 */
export function halfDotRows(
  dtype: HalfDType,
  a: Float32Array,
  aOffset: number,
  M: number,
  w: Uint16Array,
  wOffset: number,
  rowStride: number,
  N: number,
  K: number,
  o: Float32Array,
  oOffset: number,
): boolean {
  const mod = halfDot();
  if (!mod) return false;
  const K8 = Math.ceil(K / 8) * 8;
  const xBytes = 4 * K8;
  const wBytes = 2 * K8 * N;
  const need = xBytes + wBytes + 4 * N;
  const have = mod.memory.buffer.byteLength;
  if (need > have) mod.memory.grow(Math.ceil((need - have) / 65536));
  const buf = mod.memory.buffer;
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
  const xs = new Float32Array(buf, 0, K8);
  const out = new Float32Array(buf, xBytes + wBytes, N);
  xs.fill(0, K);
  for (let m = 0; m < M; m++) {
    xs.set(a.subarray(aOffset + m * K, aOffset + (m + 1) * K));
    mod[dtype](0, xBytes, xBytes, N, xBytes + wBytes);
    o.set(out, oOffset + m * N);
  }
  return true;
}
