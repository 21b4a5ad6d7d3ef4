/**
 * WebAssembly SIMD row kernels of the CPU backend, over the tile module's memory (wasm-tile.ts): the greedy token's
 * first maximum, SwiGLU's gating and the exponentials of paged attention's softmax. Why: in a stories-15m decode step
 * these ran as JS loops at 10–20 ns per element (a `Math.exp` and a `Math.fround` each, or a compare per logit over
 * 32 000 logits): ~5 % of a step, beside kernels of 1–2 ns per element here.
 *
 * - `firstMax(x, bytes, out)`: over the floats [x, x + bytes) (bytes a multiple of 64), 16 lane slots each keep the
 *   first strict maximum of the elements i ≡ slot (mod 16): values at out, their indices (−1: none above −∞) at
 *   out + 64. The caller picks the slot with the largest value, ties by lowest index ({@link firstMaxOf}).
 * - `swiglu(g, u, o, bytes)`: o = g / (1 + exp(−g)) · u, float32 lanes, `bytes` a multiple of 32.
 * - `softmaxWeights(x, bytes, rows, stride, scale)`: for each of `rows` rows (x += stride), z = x·scale − max(x·scale)
 *   and x = exp(z) in place, float32; pad a row's tail to 16 bytes with −∞ (weight 0).
 *
 * exp is Cephes' `expf` on four lanes: n = nearest(x·log2 e), r = x − n·ln 2 (in two parts), a degree-5 polynomial,
 * times 2^n built in the exponent bits; within 2 ulp of float64 `Math.exp` rounded (tested), 0 below
 * ln 2^−126 ≈ −87.34 (float64 gives subnormals there: at most 1.2e-38 apart), +∞ above ln(FLT_MAX).
 *
 * @module
 */

import { extractLane, F32, simd, tee, v128Load, v128Store } from './wasm-encoding.js';
import { ensureMemory, rowAddress, WORK_BYTES } from './wasm-heap.js';
import { instantiateModuleOnTileMemory } from './wasm-kernel-module.js';
import { wasmAsm, wasmTile } from './wasm-tile.js';

const { I32, V128, op, uleb, sleb, vec, section, name, get, set } = wasmAsm;
const load = v128Load;
const store = v128Store;
const lane = extractLane;
const v = {
  f32Splat: simd(0x13),
  and: simd(0x4e),
  andnot: simd(0x4f),
  bitselect: simd(0x52),
  lt: simd(0x43),
  gt: simd(0x44),
  neg: simd(0xe1),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
  min: simd(0xe8),
  max: simd(0xe9),
  // Pseudo-minimum / maximum: pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a, one minps / maxps on x64 where
  // min / max (NaN and ±0 rules) take ~8 instructions each. exp's clamps and overflow use them: the constants are
  // never NaN or zero, so the results equal min / max's, NaN in → NaN out included.
  pmin: simd(0xea),
  pmax: simd(0xeb),
  nearest: simd(0x6a),
  iAdd: simd(0xae),
  shl: simd(0xab),
};
const f32Max = 0x97;
const bytesOf = (a: Float32Array | Int32Array) => Array.from(new Uint8Array(a.buffer));
/** v128.const of four float32 lanes. */
const f32x4 = (...lanes: number[]) => [
  ...simd(0x0c),
  ...bytesOf(Float32Array.from(lanes.length === 1 ? [0, 0, 0, 0].fill(lanes[0]!) : lanes)),
];
/** v128.const of four int32 lanes. */
const i32x4 = (...lanes: number[]) => [...simd(0x0c), ...bytesOf(Int32Array.from(lanes))];
/** Bytes of g per `swiglu` loop step (two vectors). */
const SWIGLU_STEP = 32;
/** i32 byte counter `i` += n. */
const bump = (i: number, n: number) => [...get(i), op.i32Const, ...sleb(n), op.i32Add, ...set(i)];

/** Below this, exp flushes to 0 (2^−126 is the least normal float); above {@link EXP_OVERFLOW}, +∞. */
const EXP_MIN = -87.33654475;
/** Clamp of the argument: n = nearest(x·log2 e) stays ≤ 127 (the largest exponent 2^n can be built with). */
const EXP_CLAMP = 88.37;
/** ln(FLT_MAX): beyond it the float32 result is +∞. */
const EXP_OVERFLOW = 88.72283905206835;
const LOG2E = Math.LOG2E;
// ln 2 = C1 − C2 in two parts (C1 exact in 9 bits), so r = x − n·C1 + n·C2 keeps the bits n·ln 2 would round away.
const C1 = 0.693359375;
const C2 = -2.1219444e-4;
const POLY = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/** Pushes exp of the four float32 lanes of local `x` (see the module comment); `t` and `r` are v128 scratch locals. */
export function expOf(x: number, t: number, r: number): number[] {
  const b: number[] = [];
  // r = clamp(x); t = n = nearest(r·log2 e); r = r − n·C1 − n·C2
  b.push(...get(x), ...f32x4(EXP_CLAMP), ...v.pmin, ...f32x4(EXP_MIN), ...v.pmax, ...tee(r));
  b.push(...f32x4(LOG2E), ...v.mul, ...v.nearest, ...set(t));
  b.push(
    ...get(r),
    ...get(t),
    ...f32x4(C1),
    ...v.mul,
    ...v.sub,
    ...get(t),
    ...f32x4(C2),
    ...v.mul,
    ...v.sub,
    ...set(r),
  );
  // p(r) by Horner, then p·r·r + r + 1
  b.push(...f32x4(POLY[0]!));
  for (const c of POLY.slice(1)) b.push(...get(r), ...v.mul, ...f32x4(c), ...v.add);
  b.push(...get(r), ...v.mul, ...get(r), ...v.mul, ...get(r), ...v.add, ...f32x4(1), ...v.add);
  // · 2^n, built as the float bits (n + 127) << 23
  // n (an integer in [−126, 127]) + 1.5·2²³ is exact and holds n in its low mantissa bits: its bits + (127 − bits of
  // 1.5·2²³) are n + 127, without trunc_sat's saturation steps (~8 instructions on x64).
  const magic = 0x4b400000;
  b.push(...get(t), ...f32x4(1.5 * 2 ** 23), ...v.add, ...i32x4(127 - magic, 127 - magic, 127 - magic, 127 - magic));
  b.push(...v.iAdd, op.i32Const, 23, ...v.shl, ...v.mul);
  // x < EXP_MIN → 0 (y & ~mask); x > EXP_OVERFLOW → +∞ (max(y, mask & +∞); y ≥ 0, and NaN stays NaN)
  b.push(...get(x), ...f32x4(EXP_MIN), ...v.lt, ...v.andnot);
  b.push(...get(x), ...f32x4(EXP_OVERFLOW), ...v.gt, ...f32x4(Number.POSITIVE_INFINITY), ...v.and, ...v.pmax);
  return b;
}

/** `firstMax`: params x 0, bytes 1, out 2 (see the module comment). Four accumulators of four lanes. */
function firstMaxBody(): number[] {
  const [p, base] = [3, 4]; // i32
  const best = [5, 6, 7, 8];
  const idx = [9, 10, 11, 12];
  const cur = [13, 14, 15, 16];
  const [val, step, m] = [17, 18, 19];
  const b: number[] = [];
  for (let a = 0; a < 4; a++) {
    b.push(...f32x4(Number.NEGATIVE_INFINITY), ...set(best[a]!), ...i32x4(-1, -1, -1, -1), ...set(idx[a]!));
    b.push(...i32x4(4 * a, 4 * a + 1, 4 * a + 2, 4 * a + 3), ...set(cur[a]!));
  }
  b.push(...i32x4(16, 16, 16, 16), ...set(step), op.i32Const, 0, ...set(p));
  b.push(op.block, 0x40, op.loop, 0x40, ...get(p), ...get(1), op.i32GeU, op.brIf, 1);
  b.push(...get(0), ...get(p), op.i32Add, ...set(base));
  for (let a = 0; a < 4; a++) {
    // m = val > best (never for NaN); best = m ? val : best; idx = m ? cur : idx
    b.push(...get(base), ...load(16 * a), ...tee(val), ...get(best[a]!), ...v.gt, ...set(m));
    b.push(...get(val), ...get(best[a]!), ...get(m), ...v.bitselect, ...set(best[a]!));
    b.push(...get(cur[a]!), ...get(idx[a]!), ...get(m), ...v.bitselect, ...set(idx[a]!));
    b.push(...get(cur[a]!), ...get(step), ...v.iAdd, ...set(cur[a]!));
  }
  b.push(...bump(p, 64), op.br, 0, op.end, op.end);
  for (let a = 0; a < 4; a++) {
    b.push(...get(2), ...get(best[a]!), ...store(16 * a), ...get(2), ...get(idx[a]!), ...store(64 + 16 * a));
  }
  b.push(op.end);
  return [
    ...vec([
      [2, I32],
      [15, V128],
    ]),
    ...b,
  ];
}

/**
 * `swiglu`: params g 0, u 1, o 2, bytes 3 (a multiple of 32); o = g / (1 + exp(−g)) · u per lane, two vectors per
 * loop step. Why two: one exp is a chain of ~25 dependent vector operations, and one vector per step ran at 16 ns
 * per 4 floats whatever the constants' form (hoisting them into locals changed nothing): the core overlapped too
 * little of consecutive steps' chains.
 */
function swigluBody(): number[] {
  const p = 4; // i32
  const b: number[] = [];
  b.push(op.i32Const, 0, ...set(p), op.block, 0x40, op.loop, 0x40, ...get(p), ...get(3), op.i32GeU, op.brIf, 1);
  for (let s = 0; s < SWIGLU_STEP / 16; s++) {
    const [g, x, t, r] = [5 + 4 * s, 6 + 4 * s, 7 + 4 * s, 8 + 4 * s]; // v128
    b.push(...get(2), ...get(p), op.i32Add); // store address
    b.push(...get(0), ...get(p), op.i32Add, ...load(16 * s), ...tee(g), ...v.neg, ...set(x), ...get(g));
    b.push(...expOf(x, t, r), ...f32x4(1), ...v.add, ...v.div);
    b.push(...get(1), ...get(p), op.i32Add, ...load(16 * s), ...v.mul, ...store(16 * s));
  }
  b.push(...bump(p, SWIGLU_STEP), op.br, 0, op.end, op.end, op.end);
  return [
    ...vec([
      [1, I32],
      [(4 * SWIGLU_STEP) / 16, V128],
    ]),
    ...b,
  ];
}

/** `softmaxWeights`: params x 0, bytes 1, rows 2, stride 3, scale 4 (f32); see the module comment. */
function softmaxWeightsBody(): number[] {
  const [p, a] = [5, 6]; // i32
  const [s, m, x, t, r] = [7, 8, 9, 10, 11]; // v128
  const b: number[] = [];
  b.push(...get(4), ...v.f32Splat, ...set(s));
  b.push(op.block, 0x40, op.loop, 0x40, ...get(2), op.i32Eqz, op.brIf, 1);
  // m = max over the row of x·scale, across lanes (f32.max keeps a NaN, as Math.max does)
  b.push(...f32x4(Number.NEGATIVE_INFINITY), ...set(m), op.i32Const, 0, ...set(p));
  b.push(op.block, 0x40, op.loop, 0x40, ...get(p), ...get(1), op.i32GeU, op.brIf, 1);
  b.push(...get(m), ...get(0), ...get(p), op.i32Add, ...load(), ...get(s), ...v.mul, ...v.max, ...set(m));
  b.push(...bump(p, 16), op.br, 0, op.end, op.end);
  b.push(...get(m), ...lane(0), ...get(m), ...lane(1), f32Max, ...get(m), ...lane(2), ...get(m), ...lane(3), f32Max);
  b.push(f32Max, ...v.f32Splat, ...set(m), op.i32Const, 0, ...set(p));
  // x = exp(x·scale − m)
  b.push(op.block, 0x40, op.loop, 0x40, ...get(p), ...get(1), op.i32GeU, op.brIf, 1);
  b.push(...get(0), ...get(p), op.i32Add, ...tee(a), ...get(a), ...load(), ...get(s), ...v.mul, ...get(m), ...v.sub);
  b.push(...set(x), ...expOf(x, t, r), ...store(), ...bump(p, 16), op.br, 0, op.end, op.end);
  b.push(...get(0), ...get(3), op.i32Add, ...set(0), ...get(2), op.i32Const, 1, op.i32Sub, ...set(2));
  b.push(op.br, 0, op.end, op.end, op.end);
  return [
    ...vec([
      [2, I32],
      [5, V128],
    ]),
    ...b,
  ];
}

/**
 * The module: the tile module's memory imported as `env.mem` (declared shared, or not, as that memory is), then
 * `firstMax`, `swiglu` and `softmaxWeights`.
 */
export function rowsModuleBytes(shared = true): Uint8Array<ArrayBuffer> {
  const memoryType = shared ? [0x03, 1, ...uleb(65536)] : [0x00, 1];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    // types: 0 = (3 × i32) → (), 1 = (4 × i32) → (), 2 = (4 × i32, f32) → ()
    ...section(
      1,
      vec([
        [0x60, ...vec([[I32], [I32], [I32]]), 0],
        [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0],
        [0x60, ...vec([[I32], [I32], [I32], [I32], [F32]]), 0],
      ]),
    ),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, ...memoryType]])),
    ...section(3, vec([[0], [1], [2]])),
    ...section(
      7,
      vec([
        [...name('firstMax'), 0x00, 0],
        [...name('swiglu'), 0x00, 1],
        [...name('softmaxWeights'), 0x00, 2],
      ]),
    ),
    ...section(
      10,
      vec([firstMaxBody(), swigluBody(), softmaxWeightsBody()].map((body) => [...uleb(body.length), ...body])),
    ),
  ]);
}

/** The instantiated kernels (byte addresses into `memory`; see the module comment). */
export interface WasmRows {
  readonly memory: WebAssembly.Memory;
  /** 16 lane slots' first maxima of [x, x + bytes) written at out (values) and out + 64 (indices). */
  readonly firstMax: (x: number, bytes: number, out: number) => void;
  /** o = silu(g) · u over `bytes` bytes. */
  readonly swiglu: (g: number, u: number, o: number, bytes: number) => void;
  /** Each of `rows` rows of `bytes` bytes (`stride` apart): exp(x·scale − max(x·scale)) in place. */
  readonly softmaxWeights: (x: number, bytes: number, rows: number, stride: number, scale: number) => void;
}

let instance: WasmRows | null | undefined;

/**
 * The row kernels, instantiated on first use; null where WebAssembly SIMD or the tile module is unavailable (callers
 * then run their JS loops).
 */
export function wasmRows(): WasmRows | null {
  if (instance !== undefined) return instance;
  instance = null;
  const tile = wasmTile();
  if (!tile || !ensureMemory(tile.memory, 1)) return instance;
  const e = instantiateModuleOnTileMemory(rowsModuleBytes);
  if (!e) return instance;
  instance = {
    memory: tile.memory,
    firstMax: e.firstMax as WasmRows['firstMax'],
    swiglu: e.swiglu as WasmRows['swiglu'],
    softmaxWeights: e.softmaxWeights as WasmRows['softmaxWeights'],
  };
  return instance;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * Index of the first maximum of `x[0…n)` as `x[i] > best` scanning from best = x[0] finds it (NaN never wins; a
 * NaN at 0 keeps 0), on the SIMD kernel; null where the kernels are unavailable or x does not fit the work area.
 */
export function firstMaxOf(x: Float32Array, n: number): number | null {
  const wasm = wasmRows();
  const padded = roundUp(n, 16);
  if (!wasm || n < 16 || 4 * padded + 128 > WORK_BYTES || !ensureMemory(wasm.memory, 4 * padded + 128)) return null;
  if (Number.isNaN(x[0])) return 0;
  const f = new Float32Array(wasm.memory.buffer, 0, padded + 32);
  wasm.firstMax(rowAddress(wasm.memory, x, n, 16, Number.NEGATIVE_INFINITY), 4 * padded, 4 * padded);
  const slots = new Int32Array(wasm.memory.buffer, 4 * padded + 64, 16);
  // The largest slot value, ties by lowest index; a slot that saw nothing above −∞ (index −1) never wins, and with
  // no such slot every element is −∞ or NaN: x[0] is then a first maximum.
  let best = 0;
  let bv = Number.NEGATIVE_INFINITY;
  for (let s = 0; s < 16; s++) {
    const i = slots[s]!;
    const value = f[padded + s]!;
    if (i >= 0 && (value > bv || (value === bv && i < best))) {
      bv = value;
      best = i;
    }
  }
  return best;
}

/**
 * o = silu(g) · u (equal lengths) on the SIMD kernel, through the work area; false, having written nothing, where the
 * kernels are unavailable or the rows do not fit.
 */
export function simdSwiglu(g: Float32Array, u: Float32Array, o: Float32Array): boolean {
  const wasm = wasmRows();
  const n = g.length;
  const padded = roundUp(n, SWIGLU_STEP / 4);
  if (!wasm || 12 * padded > WORK_BYTES || !ensureMemory(wasm.memory, 12 * padded)) return false;
  const f = new Float32Array(wasm.memory.buffer, 0, 3 * padded);
  f.set(g);
  f.set(u, padded);
  wasm.swiglu(0, 4 * padded, 8 * padded, 4 * padded);
  o.set(f.subarray(2 * padded, 2 * padded + n));
  return true;
}
