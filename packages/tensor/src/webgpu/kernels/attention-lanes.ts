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

/** WGSL loop over the head dim bounded by the uniform `dim` (a constant bound makes LLVM unroll for minutes). */
function dims(body: string): string {
  return `for (var d = 0u; d < dim; d++) { ${body} }`;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The staging loop of two [BC, D] tiles from storage rows r0… (rows ≥ `rows` read as 0). */
function stage(a: string, b: string, srcA: string, srcB: string, r0: string, rows: string): string {
  return `for (var e = li; e < BC * D; e += ${LANE_WG}u) {
      let ok = ${r0} + e / D < ${rows};
      ${a}[e] = select(0.0, ${srcA}, ok);
      ${b}[e] = select(0.0, ${srcB}, ok);
    }`;
}

const HEADER = (D: number, BC: number, r: LaneReduce) => `${laneEnable(r)}
const D: u32 = ${D}u;
const BC: u32 = ${BC}u;
const RB: u32 = ${LANE_WG / r.lanes}u;
const L: u32 = ${r.lanes}u;
${laneDecls(r, LANE_WG)}`;

const ENTRY = (r: LaneReduce) => `@compute @workgroup_size(${LANE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32${laneBuiltins(r)}) {
  ${laneSetup(r)}
  let dim = min(pu(12u), D);
  let T = pu(0u); let S = pu(1u); let Hq = pu(2u); let group = pu(3u);
  let scale = pf(4u); let causal = pu(5u) != 0u;`;

/** Forward: o and lse, bindings as in the one-row kernel (o, lse, q, k, v). */
export function laneForwardCode(D: number, BC: number, r: LaneReduce): string {
  const U = range(unroll(BC, r.lanes));
  return `${HEADER(D, BC, r)}
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
var<workgroup> Ks: array<f32, ${BC * D}>;
var<workgroup> Vs: array<f32, ${BC * D}>;
${ENTRY(r)}
  let bh = wid.y;
  let kvh = (bh / Hq) * (Hq / group) + (bh % Hq) / group;
  let t = wid.x * RB + slot;
  let live = t < T;
  let qBase = pu(6u) + (bh * T + min(t, T - 1u)) * D;
  let kBase = pu(7u) + kvh * S * D;
  let vBase = pu(8u) + kvh * S * D;
  var qr: array<f32, D>;
  var ar: array<f32, D>;
  ${dims('qr[d] = q[qBase + d] * scale; ar[d] = 0.0;')}
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
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    ${stage('Ks', 'Vs', 'k[kBase + k0 * D + e]', 'v[vBase + k0 * D + e]', 'k0', 'S')}
    workgroupBarrier();
    let jEnd = min(BC, kEnd - k0);
    for (var j = lane; j < jEnd; j += ${U.length}u * L) {
      ${U.map((u) => `let j${u} = min(j + ${u}u * L, BC - 1u); let ok${u} = j + ${u}u * L < jEnd && k0 + j + ${u}u * L < limit; let kb${u} = j${u} * D;`).join('\n      ')}
      ${U.map((u) => `var s${u} = 0.0;`).join(' ')}
      ${dims(`let qd = qr[d]; ${U.map((u) => `s${u} = fma(qd, Ks[kb${u} + d], s${u});`).join(' ')}`)}
      ${U.map((u) => `s${u} = select(-inf_(), s${u}, ok${u});`).join(' ')}
      let mx = ${U.slice(1).reduce((acc, u) => `max(${acc}, s${u})`, 's0')};
      if (mx > m) {
        let corr = exp(m - mx);
        l = l * corr;
        ${dims('ar[d] = ar[d] * corr;')}
        m = mx;
      }
      if (mx > -inf_()) {
        ${U.map((u) => `let p${u} = exp(s${u} - m);`).join(' ')}
        l += ${U.map((u) => `p${u}`).join(' + ')};
        ${dims(`ar[d] = ${U.reduce((acc, u) => `fma(p${u}, Vs[kb${u} + d], ${acc})`, 'ar[d]')};`)}
      }
    }
    workgroupBarrier();
  }
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

const KEY_LIMIT = `fn keyLimit(t: u32, T: u32, S: u32, causal: bool) -> u32 {
  if (!causal) { return S; }
  return u32(clamp(i32(t) + 1 + i32(S) - i32(T), 0, i32(S)));
}`;

/** dq, bindings as in the one-row kernel (dq, q, k, v, dO, lse, delta). */
export function laneDqCode(D: number, BC: number, r: LaneReduce): string {
  const U = range(unroll(BC, r.lanes));
  return `${HEADER(D, BC, r)}
${KEY_LIMIT}
@group(0) @binding(1) var<storage, read_write> dq: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read> delta: array<f32>;
var<workgroup> Ks: array<f32, ${BC * D}>;
var<workgroup> Vs: array<f32, ${BC * D}>;
${ENTRY(r)}
  let bh = wid.y;
  let kvh = (bh / Hq) * (Hq / group) + (bh % Hq) / group;
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
  ${dims('qr[d] = q[qb + d] * scale; gr[d] = g[gb + d]; ar[d] = 0.0;')}
  let Lr = lse[pu(10u) + row];
  let dl = delta[row];
  let limit = select(0u, keyLimit(tc, T, S, causal), t < T);
  let kEnd = keyLimit(min(T, wid.x * RB + RB) - 1u, T, S, causal);
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    ${stage('Ks', 'Vs', 'k[kBase + k0 * D + e]', 'v[vBase + k0 * D + e]', 'k0', 'S')}
    workgroupBarrier();
    let jEnd = min(BC, kEnd - k0);
    for (var j = lane; j < jEnd; j += ${U.length}u * L) {
      ${U.map((u) => `let j${u} = min(j + ${u}u * L, BC - 1u); let ok${u} = j + ${u}u * L < jEnd && k0 + j + ${u}u * L < limit; let kb${u} = j${u} * D;`).join('\n      ')}
      ${U.map((u) => `var s${u} = 0.0; var e${u} = 0.0;`).join(' ')}
      ${dims(`let qd = qr[d]; let gd = gr[d]; ${U.map((u) => `s${u} = fma(qd, Ks[kb${u} + d], s${u}); e${u} = fma(gd, Vs[kb${u} + d], e${u});`).join(' ')}`)}
      ${U.map((u) => `let ds${u} = select(0.0, exp(s${u} - Lr) * (e${u} - dl) * scale, ok${u});`).join('\n      ')}
      ${dims(`ar[d] = ${U.reduce((acc, u) => `fma(ds${u}, Ks[kb${u} + d], ${acc})`, 'ar[d]')};`)}
    }
    workgroupBarrier();
  }
  for (var d = 0u; d < dim; d++) {
    let s = laneSum(ar[d], li);
    if (t < T && lane == 0u) { dq[row * D + d] = s; }
  }
}`;
}

/** dk and dv, one lane group per key row, bindings as in the one-row kernel (dk, dv, q, k, v, dO, lse, delta). */
export function laneDkvCode(D: number, BC: number, r: LaneReduce): string {
  const U = range(unroll(BC, r.lanes));
  return `${HEADER(D, BC, r)}
@group(0) @binding(1) var<storage, read_write> dk: array<f32>;
@group(0) @binding(2) var<storage, read_write> dv: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
@group(0) @binding(6) var<storage, read> g: array<f32>;
@group(0) @binding(7) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<storage, read> delta: array<f32>;
var<workgroup> Qs: array<f32, ${BC * D}>;
var<workgroup> Gs: array<f32, ${BC * D}>;
var<workgroup> Ls: array<f32, ${BC}>;
var<workgroup> Es: array<f32, ${BC}>;
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
  ${dims('kr[d] = k[pu(7u) + kRow * D + d] * scale; vr[d] = v[pu(8u) + kRow * D + d]; dkr[d] = 0.0; dvr[d] = 0.0;')}
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
      ${stage('Qs', 'Gs', 'q[pu(6u) + (bh * T + t0) * D + e]', 'g[pu(9u) + (bh * T + t0) * D + e]', 't0', 'T')}
      for (var e = li; e < BC; e += ${LANE_WG}u) {
        let ok = t0 + e < T;
        Ls[e] = select(0.0, lse[pu(10u) + bh * T + t0 + e], ok);
        Es[e] = select(0.0, delta[bh * T + t0 + e], ok);
      }
      workgroupBarrier();
      let iEnd = min(BC, T - t0);
      for (var i = lane; i < iEnd; i += ${U.length}u * L) {
        ${U.map((u) => `let i${u} = min(i + ${u}u * L, BC - 1u); let qb${u} = i${u} * D; let tq${u} = t0 + i + ${u}u * L;`).join('\n        ')}
        ${U.map((u) => `var s${u} = 0.0; var e${u} = 0.0;`).join(' ')}
        ${dims(`let kd = kr[d]; let vd = vr[d]; ${U.map((u) => `s${u} = fma(Qs[qb${u} + d], kd, s${u}); e${u} = fma(Gs[qb${u} + d], vd, e${u});`).join(' ')}`)}
        ${U.map(
          (u) => `let ok${u} = i + ${u}u * L < iEnd && tq${u} >= tFirst;
        let p${u} = select(0.0, exp(s${u} - Ls[i${u}]), ok${u});
        let ds${u} = p${u} * (e${u} - Es[i${u}]) * scale;`,
        ).join('\n        ')}
        ${dims(`dvr[d] = ${U.reduce((acc, u) => `fma(p${u}, Gs[qb${u} + d], ${acc})`, 'dvr[d]')}; dkr[d] = ${U.reduce((acc, u) => `fma(ds${u}, Qs[qb${u} + d], ${acc})`, 'dkr[d]')};`)}
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
