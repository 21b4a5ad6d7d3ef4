/**
 * The variant space of the row kernels (RMSNorm forward / dx, residual-add + RMSNorm, softmax): how many rows a
 * workgroup owns and how the lanes of a row fold their partial sums and maxima. One row per 128 invocations with a
 * workgroup-memory tree was the only kernel (still the GPU default); short rows (a 288-wide model) leave most of
 * those lanes idle and pay a seven-level barrier tree per row, so variants give a row 4…32 lanes, and where the
 * adapter has `subgroups` the lanes fold through shuffles (rows within a subgroup) or `subgroupAdd` (one row per
 * workgroup) instead of barriers. CPU adapters default to 8 lanes per row (`families.ts`).
 *
 * Cross-entropy's forward and long float sums / maxima / minima over a contiguous last axis are more such kernels.
 *
 * Kernels written against {@link rowKernel} see `row` (the row this lane works on, clamped so every invocation
 * reaches the reductions), `live` (whether that row exists: guard writes with it), `lane` and `LANES` (stride
 * loops over the columns as `for (var j = lane; j < cols; j += LANES)`), and `rowSum(v, li)` / `rowMax(v, li)`.
 *
 * @module
 */

import type { Runtime } from '../runtime.js';
import { chooseVariant, switchboardOf } from '../tuning/switchboard.js';
import { type LaneReduce, laneBuiltins, laneDecls, laneEnable, laneSetup } from './lane-reduce.js';

/** A row-kernel variant: `wg` invocations per workgroup, `rows` rows each; `subgroups` folds with subgroup ops. */
export interface RowVariant {
  wg: number;
  rows: number;
  subgroups: boolean;
  /** Lane groups rank their slots after a barrier (set by {@link rowVariant} on adapters that need it). */
  rankSlots?: boolean;
}

/** The problem the switchboard classifies for the row family. */
export interface RowProblem {
  /**
   * Which kernel: 'rmsnorm' (forward, dx, residual-add form), 'softmax' (and log-), 'cross-entropy' (forward), or a
   * reduction over a contiguous last axis ('sum', 'max', 'min').
   */
  op: 'rmsnorm' | 'softmax' | 'cross-entropy' | 'sum' | 'max' | 'min';
  rows: number;
  cols: number;
}

/** One row per 128-invocation workgroup, folded through workgroup memory (the GPU default; no switchboard: all). */
export const DEFAULT_ROW_VARIANT: RowVariant = { wg: 128, rows: 1, subgroups: false };

let rowOverride: RowVariant | undefined;
/** Forces one row variant for every row kernel (tests, benchmarks); `undefined` releases it. */
export function setRowVariant(v: RowVariant | undefined): void {
  rowOverride = v;
}

/**
 * The row variant to run `problem` with: the override, else the switchboard, else the default; shuffle-only lane
 * groups rank their slots on adapters whose workgroup memory is shared only in shaders with a barrier (SwiftShader).
 */
export function rowVariant(rt: Runtime, problem: RowProblem): RowVariant {
  const v = rowOverride ?? chooseVariant<RowVariant>(rt, 'rows', problem) ?? DEFAULT_ROW_VARIANT;
  const rank = v.subgroups && v.rows > 1 && switchboardOf(rt)?.profile.sharedMemoryNeedsBarrier === true;
  return rank ? { ...v, rankSlots: true } : v;
}

/** Pipeline-cache key part of a variant. */
export function rowVariantKey(v: RowVariant): string {
  return `${v.wg}x${v.rows}${v.subgroups ? 'sg' : ''}${v.rankSlots ? 'r' : ''}`;
}

/** Workgroups to dispatch for `rows` rows (the runtime splits counts above 65535 over x and y). */
export function rowGroups(v: RowVariant, rows: number): number {
  return Math.ceil(rows / v.rows);
}

/** Whole-workgroup subgroup folding: `subgroupAdd` / `subgroupMax`, then one workgroup-memory pass over leaders. */
function wholeGroupDecls(wg: number): string {
  const fold = (name: string, op: string, empty: string, combine: (a: string, b: string) => string) => `
fn ${name}(v: f32, li: u32) -> f32 {
  let s = ${op}(v);
  part[li] = select(${empty}, s, subgroupElect());
  workgroupBarrier();
  var r = ${empty};
  for (var i = 0u; i < ${wg}u; i++) { r = ${combine('r', 'part[i]')}; }
  workgroupBarrier();
  return r;
}`;
  return `var<workgroup> part: array<f32, ${wg}>;
${fold('rowSum', 'subgroupAdd', '0.0', (a, b) => `${a} + ${b}`)}
${fold('rowMax', 'subgroupMax', '-inf_()', (a, b) => `max(${a}, ${b})`)}`;
}

/**
 * Module declarations and the entry point's opening lines for a row kernel of variant `v`; the caller appends the
 * body and the closing brace. `nrows` is the WGSL expression of the row count.
 */
export function rowKernel(v: RowVariant, nrows: string): { decls: string; main: string } {
  const lanes = v.wg / v.rows;
  if (!Number.isInteger(lanes) || (lanes & (lanes - 1)) !== 0 || lanes < 1) {
    throw new Error(`webgpu.rows: ${v.rows} rows per workgroup of ${v.wg} leave a non-power-of-two lane count`);
  }
  const whole = v.subgroups && v.rows === 1;
  const lr: LaneReduce = { lanes, subgroups: v.subgroups, rankSlots: v.rankSlots === true };
  const decls = whole
    ? `enable subgroups;\n${wholeGroupDecls(v.wg)}`
    : `${laneEnable(lr)}${laneDecls(lr, v.wg)}
fn rowSum(v: f32, li: u32) -> f32 { return laneSum(v, li); }
fn rowMax(v: f32, li: u32) -> f32 { return laneMax(v, li); }`;
  const setup = whole ? 'let lane = li; let slot = 0u;' : laneSetup(lr);
  const builtins = whole ? '' : laneBuiltins(lr);
  const main = `const LANES: u32 = ${lanes}u;
@compute @workgroup_size(${v.wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32${builtins}) {
  ${setup}
  let rowAt = (wid.x + wid.y * nwg.x) * ${v.rows}u + slot;
  let live = rowAt < ${nrows};
  let row = min(rowAt, max(${nrows}, 1u) - 1u);`;
  return { decls, main };
}
