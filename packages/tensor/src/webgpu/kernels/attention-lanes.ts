/**
 * Flash attention with several invocations per row (FlashAttention-2's split of a tile's keys across a row's
 * threads), for GPUs where one invocation per query row leaves most of the machine idle at training lengths.
 *
 * A workgroup of 64 owns `64 / lanes` rows. K/V (or Q/dO) tiles are staged in workgroup memory once for all of
 * them; within a tile, lane `l` of a row takes keys `l, l + lanes, …` and keeps its own online-softmax state (running
 * max, running sum, output accumulator), so the loop has no cross-lane traffic at all. At the end the lanes fold
 * their states — max, rescale, sum — through subgroup shuffles or a workgroup-memory tree ({@link LaneReduce}).
 * The backward recomputes probabilities from the forward's logsumexp (no [T, S] buffer): dq sums per key lane, and
 * dk/dv, one row per key, sum per query lane; the sums need no rescale because the logsumexp is already final.
 *
 * @module
 */

import {
  ATTN_UNIFORMS,
  attnConsts,
  DKV_BINDINGS,
  DQ_BINDINGS,
  dkvStep,
  dqStep,
  FORWARD_BINDINGS,
  forwardStep,
  headDimLoop,
  KEY_LIMIT,
  KV_HEAD,
  range,
  type StepAccess,
  stageRowStats,
  stageTiles,
  tileDecls,
} from './attention-wgsl.js';
import { type LaneReduce, laneBuiltins, laneBytes, laneDecls, laneEnable, laneSetup } from './lane-reduce.js';

/** Invocations per workgroup of the lane kernels. */
export const LANE_WG = 64;

/** Rows per staged tile: two [tile, D] tiles, two [tile] rows and the lane scratch fit 16 KiB (compatibility). */
export function laneTile(D: number, r: LaneReduce): number {
  const floats = Math.floor((16384 - laneBytes(r, LANE_WG) - 64) / 4);
  return Math.max(4, 4 * Math.floor(Math.min(64, Math.floor(floats / (2 * (D + 1)))) / 4));
}

/** Keys (or queries) a lane takes per step: up to four independent chains, but never past the tile. */
function unroll(BC: number, lanes: number): number {
  return Math.max(1, Math.min(4, Math.floor(BC / lanes)));
}

/** Lane `lane` of a row takes tile rows j, j + L, …: the u-th of a step is row j + u·L, clamped into the tile. */
function laneAccess(U: number, tile: [string, string], j: string, ok: (u: number) => string): StepAccess {
  return {
    U,
    first: (u: number, d: string) => `${tile[0]}[${j}${u} * D + ${d}]`,
    second: (u: number, d: string) => `${tile[1]}[${j}${u} * D + ${d}]`,
    ok,
    reverse: true,
    linearSum: true,
  };
}

/**
 * The key loop of the lane forward and dq kernels: K/V tiles staged by the workgroup, lane `lane` of a row taking
 * tile rows j, j + L, … (`U` per step, clamped into the tile; `ok_u` when the key is in the tile and visible).
 */
function laneKeyLoop(U: number, step: (a: StepAccess) => string): string {
  const keys = range(U).map(
    (u) => `let j${u} = min(j + ${u}u * L, BC - 1u); let ok${u} = j + ${u}u * L < jEnd && k0 + j + ${u}u * L < limit;`,
  );
  return `for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    ${stageTiles('Ks', 'Vs', 'k[kBase + k0 * D + e]', 'v[vBase + k0 * D + e]', 'k0', 'S', LANE_WG)}
    workgroupBarrier();
    let jEnd = min(BC, kEnd - k0);
    for (var j = lane; j < jEnd; j += ${U}u * L) {
      ${keys.join('\n      ')}
      ${step(laneAccess(U, ['Ks', 'Vs'], 'j', (u) => `ok${u}`))}
    }
    workgroupBarrier();
  }`;
}

const HEADER = (D: number, BC: number, r: LaneReduce) => `${laneEnable(r)}
${attnConsts(D, BC)}
const RB: u32 = ${LANE_WG / r.lanes}u;
const L: u32 = ${r.lanes}u;
${laneDecls(r, LANE_WG)}`;

const ENTRY = (r: LaneReduce) => `@compute @workgroup_size(${LANE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32${laneBuiltins(r)}) {
  ${laneSetup(r)}
  ${ATTN_UNIFORMS}`;

/** Forward: o and lse, bindings as in the one-row kernel (o, lse, q, k, v). */
export function laneForwardCode(D: number, BC: number, r: LaneReduce): string {
  const U = unroll(BC, r.lanes);
  return `${HEADER(D, BC, r)}
${FORWARD_BINDINGS}
${tileDecls(['Ks', 'Vs'], BC * D)}
${ENTRY(r)}
  let bh = wid.y;
  ${KV_HEAD}
  let t = wid.x * RB + slot;
  let live = t < T;
  let qBase = pu(6u) + (bh * T + min(t, T - 1u)) * D;
  let kBase = pu(7u) + kvh * S * D;
  let vBase = pu(8u) + kvh * S * D;
  var qr: array<f32, D>;
  var ar: array<f32, D>;
  ${headDimLoop('qr[d] = q[qBase + d] * scale; ar[d] = 0.0;')}
  let shift = i32(S) - i32(T);
  let lastRow = min(T, wid.x * RB + RB) - 1u;
  var kEnd = S;
  var limit = S;
  if (causal) {
    kEnd = u32(clamp(i32(lastRow) + 1 + shift, 0, i32(S)));
    limit = u32(clamp(i32(t) + 1 + shift, 0, i32(S)));
  }
  if (!live) { limit = 0u; }
  var m = -inf_();
  var l = 0.0;
  ${laneKeyLoop(U, forwardStep)}
  // Fold the lanes: the row's max, each lane's rescale, then sums of l and of the accumulator.
  let M = laneMax(m, li);
  let c = select(0.0, exp(m - M), m > -inf_());
  let lt = laneSum(l * c, li);
  let inv = select(0.0, 1.0 / lt, lt > 0.0);
  let ob = (bh * T + min(t, T - 1u)) * D;
  for (var d = 0u; d < dim; d++) {
    let od = laneSum(ar[d] * c, li);
    if (live && lane == 0u) { o[ob + d] = od * inv; }
  }
  if (live && lane == 0u) { lse[bh * T + t] = select(-inf_(), M + log(lt), lt > 0.0); }
}`;
}

/** dq, bindings as in the one-row kernel (dq, q, k, v, dO, lse, delta). */
export function laneDqCode(D: number, BC: number, r: LaneReduce): string {
  const U = unroll(BC, r.lanes);
  return `${HEADER(D, BC, r)}
${KEY_LIMIT}
${DQ_BINDINGS}
${tileDecls(['Ks', 'Vs'], BC * D)}
${ENTRY(r)}
  let bh = wid.y;
  ${KV_HEAD}
  let t = wid.x * RB + slot;
  let tc = min(t, T - 1u);
  let row = bh * T + tc;
  let kBase = pu(7u) + kvh * S * D;
  let vBase = pu(8u) + kvh * S * D;
  let qb = pu(6u) + row * D;
  let gb = pu(9u) + row * D;
  var qr: array<f32, D>;
  var gr: array<f32, D>;
  var ar: array<f32, D>;
  ${headDimLoop('qr[d] = q[qb + d] * scale; gr[d] = g[gb + d]; ar[d] = 0.0;')}
  let Lr = lse[pu(10u) + row];
  let dl = delta[row];
  let limit = select(0u, keyLimit(tc, T, S, causal), t < T);
  let kEnd = keyLimit(min(T, wid.x * RB + RB) - 1u, T, S, causal);
  ${laneKeyLoop(U, dqStep)}
  for (var d = 0u; d < dim; d++) {
    let s = laneSum(ar[d], li);
    if (t < T && lane == 0u) { dq[row * D + d] = s; }
  }
}`;
}

/** dk and dv, one lane group per key row, bindings as in the one-row kernel (dk, dv, q, k, v, dO, lse, delta). */
export function laneDkvCode(D: number, BC: number, r: LaneReduce): string {
  const U = unroll(BC, r.lanes);
  return `${HEADER(D, BC, r)}
${DKV_BINDINGS}
${tileDecls(['Qs', 'Gs'], BC * D)}
${tileDecls(['Ls', 'Es'], BC)}
${ENTRY(r)}
  let Hkv = Hq / group;
  let bkv = wid.y;
  let b = bkv / Hkv;
  let s = wid.x * RB + slot;
  let sc = min(s, S - 1u);
  let kRow = bkv * S + sc;
  var kr: array<f32, D>;
  var vr: array<f32, D>;
  var dkr: array<f32, D>;
  var dvr: array<f32, D>;
  ${headDimLoop('kr[d] = k[pu(7u) + kRow * D + d] * scale; vr[d] = v[pu(8u) + kRow * D + d]; dkr[d] = 0.0; dvr[d] = 0.0;')}
  // Causal: query t sees key s iff t ≥ s − (S − T); the block's first key bounds where queries start.
  let shift = i32(S) - i32(T);
  var tStart = 0u;
  var tFirst = 0u;
  if (causal) {
    tStart = u32(clamp(i32(wid.x * RB) - shift, 0, i32(T)));
    tFirst = u32(clamp(i32(sc) - shift, 0, i32(T)));
  }
  if (s >= S) { tFirst = T; }
  for (var hg = 0u; hg < group; hg++) {
    let bh = b * Hq + (bkv % Hkv) * group + hg;
    for (var t0 = (tStart / BC) * BC; t0 < T; t0 += BC) {
      ${stageTiles('Qs', 'Gs', 'q[pu(6u) + (bh * T + t0) * D + e]', 'g[pu(9u) + (bh * T + t0) * D + e]', 't0', 'T', LANE_WG)}
      ${stageRowStats(LANE_WG)}
      workgroupBarrier();
      let iEnd = min(BC, T - t0);
      for (var i = lane; i < iEnd; i += ${U}u * L) {
        ${range(U)
          .map((u) => `let i${u} = min(i + ${u}u * L, BC - 1u); let tq${u} = t0 + i + ${u}u * L;`)
          .join('\n        ')}
        ${dkvStep(
          laneAccess(U, ['Qs', 'Gs'], 'i', (u) => `i + ${u}u * L < iEnd && tq${u} >= tFirst`),
          (u) => `Ls[i${u}]`,
          (u) => `Es[i${u}]`,
        )}
      }
      workgroupBarrier();
    }
  }
  for (var d = 0u; d < dim; d++) {
    let a = laneSum(dkr[d], li);
    let c = laneSum(dvr[d], li);
    if (s < S && lane == 0u) { dk[kRow * D + d] = a; dv[kRow * D + d] = c; }
  }
}`;
}
