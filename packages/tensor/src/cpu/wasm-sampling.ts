/**
 * WebAssembly SIMD kernels of the CPU `sampleTokens` kernel over the tile module's memory (wasm-tile.ts): float32
 * weights summed per block of 64 tokens for the temperature draw (draw-by-blocks.ts, which holds the error analysis
 * of the draw), and block maxima for top-k (top-k-blocks.ts). Why: the float64 JS passes cost ~0.2 ms per row of
 * 32 000 logits (3.3 ms of a 16-row step).
 *
 * Kernels (byte addresses, rows padded with −∞ to a multiple of 64 floats):
 * - `rowMax(x, bytes)`: the largest float of [x, x + bytes) (−∞ if none), NaN if any is NaN.
 * - `blockWeights(x, bytes, m, c, out)`: w = 2^y with y = max((x − m)·c, −125) in float32; at out the float64 sum of
 *   each block of 64 weights (each group of 4 vectors added pairwise in float32, then in float64), then (one more
 *   float64) Σ w·y over the row (≤ 0; it sizes the draw's argument error).
 * - `blockMaxima(x, bytes, out)`: each block's largest non-NaN float (float32); returns 1 if any float is NaN.
 * - `blockWeights64(x, bytes, m, c, out)`: blockWeights in float64 (2^f within `EXP2_64_ERROR`, ~8e-11), ~2.5×
 *   its cost: the draw's second try where float32 cannot decide; `weights64` stores each weight instead (top-p).
 *
 * 2^y: n = nearest(y) (by adding and subtracting 1.5·2^23), f = y − n (exact: |f| ≤ 1/2 and f is a float32), 2^f by
 * a polynomial in float32 (Horner; relaxed multiply-adds where available) within `EXP2_ERROR` (exp2-polynomial.ts), times 2^n added
 * to the exponent bits (exact: the result stays normal, n ≥ −125; rowMax has excluded NaN, whose bits this would not
 * keep).
 *
 * @module
 */

import { EXP2_64_COEFFICIENTS, EXP2_COEFFICIENTS } from './exp2-polynomial.js';
import {
  extractLane,
  F32,
  F64,
  f32x4RelaxedMadd,
  get,
  I32,
  name,
  op,
  section,
  set,
  simd,
  sleb,
  tee,
  uleb,
  V128,
  v128Load,
  v128Store,
  vec,
} from './wasm-encoding.js';
import { instantiateModuleOnTileMemory } from './wasm-kernel-module.js';
import { wasmRelaxedSimd } from './wasm-relaxed-simd.js';
import { wasmTile } from './wasm-tile.js';

const v = {
  f32Splat: simd(0x13),
  shuffle: simd(0x0d),
  f32Sub: simd(0xe5),
  f32Add: simd(0xe4),
  f32Mul: simd(0xe6),
  f32Pmax: simd(0xeb),
  f32Ne: simd(0x42),
  or: simd(0x50),
  anyTrue: simd(0x53),
  iShl: simd(0xab),
  iAdd: simd(0xae),
  promoteLow: simd(0x5f),
  f64Add: simd(0xf0),
  f64Sub: simd(0xf1),
  f64Mul: simd(0xf2),
  f64Pmax: simd(0xf7),
  f64Splat: simd(0x14),
  f64Madd: simd(0x107),
  load64Zero: (offset: number) => [...simd(0x5d), 3, ...uleb(offset)],
  i64Shl: simd(0xcb),
  i64Add: simd(0xce),
  f64Lane: (lane: number) => [...simd(0x21), lane],
};
const f32Max = 0x97;
const f32Store = 0x38;
const f32Const = 0x43;
const select = 0x1b;
const f64Add = 0xa0;
const f64Store = [0x39, 3];
/** v128.const of four equal float32 lanes. */
const f32x4 = (x: number) => [...simd(0x0c), ...new Uint8Array(new Float32Array([x, x, x, x]).buffer)];
/** v128.const of two equal float64 lanes. */
const f64x2 = (x: number) => [...simd(0x0c), ...new Uint8Array(new Float64Array([x, x]).buffer)];
/** i8x16.shuffle bytes that move a vector's two high float32 lanes to the low half. */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** Floats per block: of a weight sum (the draw resolves one block in float64), of a maximum (top-k). */
export const BLOCK = 64;
/** Lower clamp of y: 2^-125 is normal, so 2^n can be added to the exponent bits. */
const Y_MIN = -125;
/** The float32 unit roundoff. */
export const U32 = 2 ** -24;

/**
 * `rowMax`: params x 0, bytes 1 → f32. Four accumulators; pmax(acc, x) = acc < x ? x : acc skips NaN, and a fifth
 * collects x ≠ x, so that a NaN anywhere returns NaN (blockWeights' exponent bits assume no NaN).
 */
function rowMaxBody(): number[] {
  const p = 2;
  const acc = [3, 4, 5, 6];
  const [nan, x, m] = [7, 8, 9];
  const b: number[] = [];
  b.push(...f32x4(0), ...set(nan));
  for (const a of acc) b.push(...f32x4(Number.NEGATIVE_INFINITY), ...set(a));
  b.push(op.i32Const, 0, ...set(p), op.block, 0x40, op.loop, 0x40, ...get(p), ...get(1), op.i32GeU, op.brIf, 1);
  for (let q = 0; q < 4; q++) {
    b.push(
      ...get(acc[q]!),
      ...get(0),
      ...get(p),
      op.i32Add,
      ...v128Load(16 * q),
      ...tee(x),
      ...v.f32Pmax,
      ...set(acc[q]!),
    );
    b.push(...get(nan), ...get(x), ...get(x), ...v.f32Ne, ...v.or, ...set(nan));
  }
  b.push(...get(p), op.i32Const, ...sleb(64), op.i32Add, ...set(p), op.br, 0, op.end, op.end);
  b.push(...get(acc[0]!), ...get(acc[1]!), ...v.f32Pmax, ...get(acc[2]!), ...get(acc[3]!), ...v.f32Pmax);
  b.push(...v.f32Pmax, ...tee(acc[0]!), ...extractLane(0), ...get(acc[0]!), ...extractLane(1), f32Max);
  b.push(...get(acc[0]!), ...extractLane(2), ...get(acc[0]!), ...extractLane(3), f32Max, f32Max, ...set(m));
  b.push(f32Const, ...new Uint8Array(new Float32Array([Number.NaN]).buffer), ...get(m), ...get(nan), ...v.anyTrue);
  b.push(select, op.end);
  return [
    ...vec([
      [1, I32],
      [6, V128],
      [1, F32],
    ]),
    ...b,
  ];
}

/**
 * `blockWeights`: params x 0, bytes 1, m 2 (f32), c 3 (f32), out 4; see the module comment. One group of 4 vectors per
 * loop turn: with a whole block unrolled, TurboFan interleaved 16 vectors' chains and spilled most of them.
 */
function blockWeightsBody(fused: boolean): number[] {
  const groups = 5; // i32: groups left in the block
  const [M, C, LO, MAGIC, y, n, w, g, h, wy, acc, row] = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const K = 18; // the coefficients
  // a·b + c: relaxed SIMD's multiply-add where allowed (fused or not, as the engine picks: one rounding or two, both
  // inside EXP2_ERROR, whose Horner term counts two), else a multiply and an add
  const madd = (a: number[], c: number[]) =>
    fused ? [...a, ...c, ...f32x4RelaxedMadd] : [...a, ...v.f32Mul, ...c, ...v.f32Add];
  const b: number[] = [];
  b.push(...get(2), ...v.f32Splat, ...set(M), ...get(3), ...v.f32Splat, ...set(C), ...f32x4(Y_MIN), ...set(LO));
  b.push(...f32x4(1.5 * 2 ** 23), ...set(MAGIC));
  for (const [k, c] of EXP2_COEFFICIENTS.entries()) b.push(...f32x4(c), ...set(K + k));
  b.push(...f32x4(0), ...set(row));
  b.push(op.block, 0x40, op.loop, 0x40, ...get(1), op.i32Eqz, op.brIf, 1);
  b.push(...f32x4(0), ...set(acc), ...f32x4(0), ...set(wy), op.i32Const, BLOCK / 16, ...set(groups));
  b.push(op.block, 0x40, op.loop, 0x40, ...get(groups), op.i32Eqz, op.brIf, 1);
  for (let q = 0; q < 4; q++) {
    // y = pmax((x − m)·c, −125); t = y + 1.5·2^23 rounds y to an integer n in t's low bits (nearest, as the
    // exponent bits below need); f = y − n (in w)
    b.push(...get(0), ...v128Load(16 * q), ...get(M), ...v.f32Sub, ...get(C), ...v.f32Mul);
    b.push(...get(LO), ...v.f32Pmax, ...tee(y), ...get(MAGIC), ...v.f32Add, ...tee(n), ...get(MAGIC), ...v.f32Sub);
    b.push(...set(w), ...get(y), ...get(w), ...v.f32Sub, ...set(w));
    // 2^f by Horner, then n << 23 (t's low bits shifted: n mod 2^9) added to its bits: w = p(f) · 2^n
    b.push(...get(K + EXP2_COEFFICIENTS.length - 1));
    for (let k = EXP2_COEFFICIENTS.length - 2; k >= 0; k--) b.push(...madd(get(w), get(K + k)));
    b.push(...get(n), op.i32Const, 23, ...v.iShl, ...v.iAdd, ...tee(w));
    b.push(...madd(get(y), get(wy)), ...set(wy));
    // pairwise within the group: g = w0 + w1, h = w2 + w3, then g + h
    if (q === 0) b.push(...get(w), ...set(g));
    else if (q === 1) b.push(...get(g), ...get(w), ...v.f32Add, ...set(g));
    else if (q === 2) b.push(...get(w), ...set(h));
    else b.push(...get(h), ...get(w), ...v.f32Add, ...get(g), ...v.f32Add, ...set(g));
  }
  // the group's four lanes into the block's float64 sums
  b.push(...get(acc), ...get(g), ...v.promoteLow, ...v.f64Add, ...get(g), ...get(g), ...v.shuffle, ...HIGH_HALF);
  b.push(...v.promoteLow, ...v.f64Add, ...set(acc));
  b.push(...get(0), op.i32Const, ...sleb(64), op.i32Add, ...set(0));
  b.push(...get(groups), op.i32Const, 1, op.i32Sub, ...set(groups), op.br, 0, op.end, op.end);
  b.push(...get(4), ...get(acc), ...v.f64Lane(0), ...get(acc), ...v.f64Lane(1), f64Add, ...f64Store, 0);
  b.push(...get(row), ...get(wy), ...v.promoteLow, ...v.f64Add, ...get(wy), ...get(wy), ...v.shuffle, ...HIGH_HALF);
  b.push(...v.promoteLow, ...v.f64Add, ...set(row));
  b.push(...get(4), op.i32Const, 8, op.i32Add, ...set(4));
  b.push(...get(1), op.i32Const, ...sleb(4 * BLOCK), op.i32Sub, ...set(1), op.br, 0, op.end, op.end);
  b.push(...get(4), ...get(row), ...v.f64Lane(0), ...get(row), ...v.f64Lane(1), f64Add, ...f64Store, 0, op.end);
  return [
    ...vec([
      [1, I32],
      [K + EXP2_COEFFICIENTS.length - 6, V128],
    ]),
    ...b,
  ];
}

/**
 * `blockMaxima`: params x 0, bytes 1, out 2 → i32. Per block of 64 floats the largest non-NaN one (pmax, four
 * accumulators) as a float32 at out; returns 1 if any float is NaN.
 */
function blockMaximaBody(): number[] {
  const [acc, nan, x] = [[3, 4, 5, 6], 7, 8];
  const b: number[] = [...f32x4(0), ...set(nan)];
  b.push(op.block, 0x40, op.loop, 0x40, ...get(1), op.i32Eqz, op.brIf, 1);
  for (const a of acc) b.push(...f32x4(Number.NEGATIVE_INFINITY), ...set(a));
  for (let q = 0; q < BLOCK / 4; q++) {
    const a = acc[q % 4]!;
    b.push(...get(a), ...get(0), ...v128Load(16 * q), ...tee(x), ...v.f32Pmax, ...set(a));
    b.push(...get(nan), ...get(x), ...get(x), ...v.f32Ne, ...v.or, ...set(nan));
  }
  b.push(...get(2), ...get(acc[0]!), ...get(acc[1]!), ...v.f32Pmax, ...get(acc[2]!), ...get(acc[3]!), ...v.f32Pmax);
  b.push(...v.f32Pmax, ...tee(x), ...extractLane(0), ...get(x), ...extractLane(1), f32Max, ...get(x));
  b.push(...extractLane(2), ...get(x), ...extractLane(3), f32Max, f32Max, f32Store, 2, 0);
  b.push(...get(0), op.i32Const, ...sleb(4 * BLOCK), op.i32Add, ...set(0), ...get(2), op.i32Const, 4, op.i32Add);
  b.push(...set(2), ...get(1), op.i32Const, ...sleb(4 * BLOCK), op.i32Sub, ...set(1), op.br, 0, op.end, op.end);
  b.push(...get(nan), ...v.anyTrue, op.end);
  return [...vec([[6, V128]]), ...b];
}

/**
 * `blockWeights64`: params x 0, bytes 1, m 2 (f64), c 3 (f64), out 4: blockWeights in float64 (no Σ w·y): y =
 * max((x − m)·c, −1020), n by adding and subtracting 1.5·2^52, 2^f by the degree-7 interpolant, 2^n into the
 * exponent bits (n ≥ −1020 keeps the result normal). Eight floats per loop turn. `perToken` (`weights64`): each
 * weight stored at out (float64), their sum returned instead of block sums.
 */
function blockWeights64Body(fused: boolean, perToken: boolean): number[] {
  const turns = 5; // i32: loop turns left in the block
  const [M, C, LO, MAGIC, y, t, w, acc] = [6, 7, 8, 9, 10, 11, 12, 13];
  const K = 14;
  const coefficients = EXP2_64_COEFFICIENTS;
  const madd = (a: number[], c: number[]) =>
    fused ? [...a, ...c, ...v.f64Madd] : [...a, ...v.f64Mul, ...c, ...v.f64Add];
  const b: number[] = [...get(2), ...v.f64Splat, ...set(M), ...get(3), ...v.f64Splat, ...set(C)];
  b.push(...f64x2(-1020), ...set(LO), ...f64x2(1.5 * 2 ** 52), ...set(MAGIC));
  for (const [k, c] of coefficients.entries()) b.push(...f64x2(c), ...set(K + k));
  if (perToken) b.push(...f64x2(0), ...set(acc));
  b.push(op.block, 0x40, op.loop, 0x40, ...get(1), op.i32Eqz, op.brIf, 1);
  if (!perToken) b.push(...f64x2(0), ...set(acc));
  b.push(op.i32Const, BLOCK / 8, ...set(turns));
  b.push(op.block, 0x40, op.loop, 0x40, ...get(turns), op.i32Eqz, op.brIf, 1);
  for (let q = 0; q < 4; q++) {
    b.push(...get(0), ...v.load64Zero(8 * q), ...v.promoteLow, ...get(M), ...v.f64Sub, ...get(C), ...v.f64Mul);
    b.push(...get(LO), ...v.f64Pmax, ...tee(y), ...get(MAGIC), ...v.f64Add, ...tee(t), ...get(MAGIC), ...v.f64Sub);
    b.push(...set(w), ...get(y), ...get(w), ...v.f64Sub, ...set(w), ...get(K + coefficients.length - 1));
    for (let k = coefficients.length - 2; k >= 0; k--) b.push(...madd(get(w), get(K + k)));
    b.push(...get(t), op.i32Const, 52, ...v.i64Shl, ...v.i64Add, ...tee(w), ...get(acc), ...v.f64Add, ...set(acc));
    if (perToken) b.push(...get(4), ...get(w), ...v128Store(16 * q));
  }
  b.push(...get(0), op.i32Const, 32, op.i32Add, ...set(0));
  if (perToken) b.push(...get(4), op.i32Const, ...sleb(64), op.i32Add, ...set(4));
  b.push(...get(turns), op.i32Const, 1, op.i32Sub, ...set(turns), op.br, 0, op.end, op.end);
  if (!perToken) {
    b.push(...get(4), ...get(acc), ...v.f64Lane(0), ...get(acc), ...v.f64Lane(1), f64Add, ...f64Store, 0);
    b.push(...get(4), op.i32Const, 8, op.i32Add, ...set(4));
  }
  b.push(...get(1), op.i32Const, ...sleb(4 * BLOCK), op.i32Sub, ...set(1), op.br, 0, op.end, op.end);
  if (perToken) b.push(...get(acc), ...v.f64Lane(0), ...get(acc), ...v.f64Lane(1), f64Add);
  b.push(op.end);
  return [
    ...vec([
      [1, I32],
      [K + coefficients.length - 6, V128],
    ]),
    ...b,
  ];
}

/** The module: the tile module's memory imported as `env.mem` (shared or not, as that memory is), three kernels. */
export function samplingModuleBytes(shared = true, fused = false): Uint8Array<ArrayBuffer> {
  const memoryType = shared ? [0x03, 1, ...uleb(65536)] : [0x00, 1];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    // types: 0 = (i32, i32) → f32, 1 = (i32, i32, f32, f32, i32) → (), 2 = (i32, i32, i32) → i32,
    // 3 = (i32, i32, f64, f64, i32) → (), 4 = (i32, i32, f64, f64, i32) → f64
    ...section(
      1,
      vec([
        [0x60, ...vec([[I32], [I32]]), ...vec([[F32]])],
        [0x60, ...vec([[I32], [I32], [F32], [F32], [I32]]), 0],
        [0x60, ...vec([[I32], [I32], [I32]]), ...vec([[I32]])],
        [0x60, ...vec([[I32], [I32], [F64], [F64], [I32]]), 0],
        [0x60, ...vec([[I32], [I32], [F64], [F64], [I32]]), ...vec([[F64]])],
      ]),
    ),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, ...memoryType]])),
    ...section(3, vec([[0], [1], [2], [3], [4]])),
    ...section(
      7,
      vec([
        [...name('rowMax'), 0x00, 0],
        [...name('blockWeights'), 0x00, 1],
        [...name('blockMaxima'), 0x00, 2],
        [...name('blockWeights64'), 0x00, 3],
        [...name('weights64'), 0x00, 4],
      ]),
    ),
    ...section(
      10,
      vec(
        [
          rowMaxBody(),
          blockWeightsBody(fused),
          blockMaximaBody(),
          blockWeights64Body(fused, false),
          blockWeights64Body(fused, true),
        ].map((body) => [...uleb(body.length), ...body]),
      ),
    ),
  ]);
}

/** The instantiated kernels (byte addresses into `memory`; see the module comment). */
export interface WasmSampling {
  readonly memory: WebAssembly.Memory;
  /** The largest float of [x, x + bytes), bytes a multiple of 64 (−∞ if none), NaN if any is NaN. */
  readonly rowMax: (x: number, bytes: number) => number;
  /** Block sums of 2^max((x − m)·c, −125) (float64, at out), then Σ w·y; bytes a multiple of 256. */
  readonly blockWeights: (x: number, bytes: number, m: number, c: number, out: number) => void;
  /** Each block of 64 floats' largest non-NaN float (float32, at out); 1 if any float is NaN, else 0. */
  readonly blockMaxima: (x: number, bytes: number, out: number) => number;
  /** Block sums of 2^max((x − m)·c, −1020) in float64 (at out); bytes a multiple of 256. */
  readonly blockWeights64: (x: number, bytes: number, m: number, c: number, out: number) => void;
  /** Each weight of blockWeights64 stored at out (float64, bytes 16-aligned); returns their sum. */
  readonly weights64: (x: number, bytes: number, m: number, c: number, out: number) => number;
}

/** The kernels by variant: with relaxed SIMD's multiply-add (true) or without. */
const instances = new Map<boolean, WasmSampling | null>();

/**
 * The kernels, instantiated on first use (with relaxed SIMD's multiply-add where {@link wasmRelaxedSimd} allows:
 * ~17 % faster here); null where WebAssembly SIMD or the tile module is unavailable.
 */
export function wasmSampling(): WasmSampling | null {
  const fused = wasmRelaxedSimd();
  const known = instances.get(fused);
  if (known !== undefined) return known;
  let instance: WasmSampling | null = null;
  instances.set(fused, instance);
  const tile = wasmTile();
  // Null (the float64 JS paths) where SIMD, the tile module or the import is unavailable.
  const e = tile ? instantiateModuleOnTileMemory((shared) => samplingModuleBytes(shared, fused)) : null;
  if (!tile || !e) return instance;
  instance = {
    memory: tile.memory,
    rowMax: e.rowMax as WasmSampling['rowMax'],
    blockWeights: e.blockWeights as WasmSampling['blockWeights'],
    blockMaxima: e.blockMaxima as WasmSampling['blockMaxima'],
    blockWeights64: e.blockWeights64 as WasmSampling['blockWeights64'],
    weights64: e.weights64 as WasmSampling['weights64'],
  };
  instances.set(fused, instance);
  return instance;
}
