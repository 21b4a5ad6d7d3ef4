/**
 * RMSNorm and the fused residual add + RMSNorm as WebAssembly SIMD kernels over the tile module's memory. Why: a
 * 16-row stories-15m decode step runs them 13 times over 16 × 288 floats, and the JS float64 loops cost ~20–30 µs a
 * call (~0.3–0.4 ms a step, profile 2026-12-05), where these take a few µs, most of it copying rows in and out.
 *
 * The arithmetic is the JS loops' (rms-norm.ts), in float64 lanes: sum = x + r in float32 (as the JS stores it),
 * ss = Σ x² in float64 (four partial sums, (l0 + l1) + (l2 + l3), where the JS adds in order: the only difference,
 * a few float64 ulps of ss), rstd = 1 / sqrt(ss / D + eps) in float64, y = float32((x · rstd) · w). So y equals the
 * JS result except where that float64 difference in rstd moves a rounding (tested within 1 float32 ulp); each row
 * is computed alone, so a row of a batch equals its solo computation.
 *
 * - `rmsNorm(x, y, rows, dBytes, w, rstd, eps)`: for each of `rows` rows of dBytes bytes (a multiple of 16) at x,
 *   y = x · rstd · w at y, rstd (float32) at rstd.
 * - `addRmsNorm(x, r, sum, y, rows, dBytes, w, rstd, eps)`: sum = x + r at sum, then rmsNorm of sum.
 *
 * @module
 */

import { F64, get, I32, op, set, sleb, tee, V128, v128Load, v128Store, vec } from './wasm-encoding.js';
import { ensureMemory, WORK_BYTES } from './wasm-heap.js';
import {
  addTo,
  HIGH_HALF,
  instantiateOnTileMemory,
  LOW_HALVES,
  overBytes as overRow,
  f64Lanes as v,
} from './wasm-kernel-module.js';
import { wasmTile } from './wasm-tile.js';

const f64 = { add: 0xa0, div: 0xa3, sqrt: 0x9f, const: 0x44, convertU32: 0xb8 };
const f32DemoteF64 = 0xb6;
const f32Store = 0x38;
const i32ShrU = 0x76;
const f64Const = (x: number) => [f64.const, ...new Uint8Array(Float64Array.of(x).buffer)];

/** The body of `rmsNorm` (add false) or `addRmsNorm` (add true); parameters as in the module comment. */
function normBody(add: boolean): number[] {
  const [x, r, sum] = [0, 1, 2];
  const at = add ? 3 : 1;
  const [y, rows, d, w, rstd, eps] = [at, at + 1, at + 2, at + 3, at + 4, at + 5];
  const [p, src] = [at + 6, at + 7]; // i32
  const [ss, rs] = [at + 8, at + 9]; // f64
  const [acc0, acc1, val, rsv, t] = [at + 10, at + 11, at + 12, at + 13, at + 14]; // v128
  const load = (base: number) => [...get(base), ...get(p), op.i32Add, ...v128Load()];
  const b: number[] = [op.block, 0x40, op.loop, 0x40, ...get(rows), op.i32Eqz, op.brIf, 1];
  // sum = x + r (float32)
  if (add)
    b.push(...overRow(p, d, [...get(sum), ...get(p), op.i32Add, ...load(x), ...load(r), ...v.f32Add, ...v128Store()]));
  b.push(...get(add ? sum : x), ...set(src), ...v.zero, ...set(acc0), ...v.zero, ...set(acc1));
  // ss: acc0 over lanes 0, 1 and acc1 over lanes 2, 3, squares and sums in float64
  const square = (acc: number, high: boolean) => [
    ...get(acc),
    ...get(val),
    ...(high ? [...get(val), ...HIGH_HALF] : []),
    ...v.promoteLow,
    ...tee(t),
    ...get(t),
    ...v.f64Mul,
    ...v.f64Add,
    ...set(acc),
  ];
  b.push(...overRow(p, d, [...load(src), ...set(val), ...square(acc0, false), ...square(acc1, true)]));
  // ss = (l0 + l1) + (l2 + l3); rs = 1 / sqrt(ss / D + eps), D = d / 4
  b.push(...get(acc0), ...v.lane(0), ...get(acc0), ...v.lane(1), f64.add);
  b.push(...get(acc1), ...v.lane(0), ...get(acc1), ...v.lane(1), f64.add, f64.add, ...set(ss));
  b.push(...f64Const(1), ...get(ss), ...get(d), op.i32Const, 2, i32ShrU, f64.convertU32, f64.div);
  b.push(...get(eps), f64.add, f64.sqrt, f64.div, ...tee(rs), ...v.f64Splat, ...set(rsv));
  b.push(...get(rstd), ...get(rs), f32DemoteF64, f32Store, 2, 0, ...get(rstd), op.i32Const, 4, op.i32Add, ...set(rstd));
  // y = float32((x · rs) · w), lanes 0, 1 then 2, 3 in float64, joined into one vector
  const product = (high: boolean) => [
    ...get(val),
    ...(high ? [...get(val), ...HIGH_HALF] : []),
    ...v.promoteLow,
    ...get(rsv),
    ...v.f64Mul,
    ...get(t),
    ...(high ? [...get(t), ...HIGH_HALF] : []),
    ...v.promoteLow,
    ...v.f64Mul,
    ...v.demoteZero,
  ];
  b.push(
    ...overRow(p, d, [
      ...[...get(y), ...get(p), op.i32Add, ...load(src), ...set(val), ...load(w), ...set(t)],
      ...[...product(false), ...product(true), ...LOW_HALVES, ...v128Store()],
    ]),
  );
  // next row
  b.push(...addTo(x, d), ...addTo(y, d), ...(add ? [...addTo(r, d), ...addTo(sum, d)] : []));
  b.push(...get(rows), op.i32Const, ...sleb(1), op.i32Sub, ...set(rows), op.br, 0, op.end, op.end, op.end);
  return [
    ...vec([
      [2, I32],
      [2, F64],
      [5, V128],
    ]),
    ...b,
  ];
}

type RmsNormKernel = (x: number, y: number, rows: number, dBytes: number, w: number, rstd: number, eps: number) => void;
type AddRmsNormKernel = (
  x: number,
  r: number,
  sum: number,
  y: number,
  rows: number,
  dBytes: number,
  w: number,
  rstd: number,
  eps: number,
) => void;

interface NormKernels {
  readonly memory: WebAssembly.Memory;
  readonly rmsNorm: RmsNormKernel;
  readonly addRmsNorm: AddRmsNormKernel;
}

let kernels: NormKernels | null | undefined;

/** The kernels, instantiated on first use; null where the SIMD kernels are unavailable. */
function normKernels(): NormKernels | null {
  if (kernels !== undefined) return kernels;
  const e = instantiateOnTileMemory([
    { name: 'rmsNorm', params: [I32, I32, I32, I32, I32, I32, F64], body: normBody(false) },
    { name: 'addRmsNorm', params: [I32, I32, I32, I32, I32, I32, I32, I32, F64], body: normBody(true) },
  ]);
  const memory = wasmTile()?.memory;
  kernels =
    e && memory ? { memory, rmsNorm: e.rmsNorm as RmsNormKernel, addRmsNorm: e.addRmsNorm as AddRmsNormKernel } : null;
  return kernels;
}

/** The work area as floats [0, floats), grown if needed; null where the kernels are unavailable or it does not fit. */
function workArea(floats: number): { k: NormKernels; f: Float32Array } | null {
  const k = normKernels();
  if (!k || 4 * floats > WORK_BYTES || !ensureMemory(k.memory, 4 * floats)) return null;
  return { k, f: new Float32Array(k.memory.buffer, 0, floats) };
}

/**
 * RMSNorm of the rows of D floats in `src` (D a multiple of 4; `w` holds D) on the SIMD kernel, through the work
 * area: y (as long as src) and rstd (one per row). False, having written nothing, where the kernel is unavailable,
 * D is not a multiple of 4, or the rows do not fit.
 */
export function simdRmsNorm(
  src: Float32Array,
  w: Float32Array,
  D: number,
  eps: number,
  y: Float32Array,
  rstd: Float32Array,
): boolean {
  const n = src.length;
  const rows = n / D;
  const work = D > 0 && D % 4 === 0 ? workArea(2 * n + D + rows) : null;
  if (!work) return false;
  const { k, f } = work;
  f.set(src, 0);
  f.set(w.subarray(0, D), 2 * n);
  k.rmsNorm(0, 4 * n, rows, 4 * D, 8 * n, 4 * (2 * n + D), eps);
  y.set(f.subarray(n, 2 * n));
  rstd.set(f.subarray(2 * n + D, 2 * n + D + rows));
  return true;
}

/**
 * sum = a + r (float32), then {@link simdRmsNorm} of sum into y and rstd; a, r, sum and y as long as each other. False,
 * having written nothing, where {@link simdRmsNorm} would be.
 */
export function simdAddRmsNorm(
  a: Float32Array,
  r: Float32Array,
  w: Float32Array,
  D: number,
  eps: number,
  sum: Float32Array,
  y: Float32Array,
  rstd: Float32Array,
): boolean {
  const n = a.length;
  const rows = n / D;
  const work = D > 0 && D % 4 === 0 ? workArea(4 * n + D + rows) : null;
  if (!work) return false;
  const { k, f } = work;
  f.set(a, 0);
  f.set(r, n);
  f.set(w.subarray(0, D), 4 * n);
  k.addRmsNorm(0, 4 * n, 8 * n, 12 * n, rows, 4 * D, 16 * n, 4 * (4 * n + D), eps);
  sum.set(f.subarray(2 * n, 3 * n));
  y.set(f.subarray(3 * n, 4 * n));
  rstd.set(f.subarray(4 * n + D, 4 * n + D + rows));
  return true;
}
