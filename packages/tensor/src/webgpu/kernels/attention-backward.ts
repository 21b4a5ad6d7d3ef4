/**
 * Fused flash-attention backward, recomputing probabilities from the forward's lse (no [T, S] buffer):
 * 1. delta[row] = dO·O per query row;
 * 2. dq: one invocation per query row, K/V tiles in workgroup memory;
 * 3. dk, dv: one invocation per key row, Q/dO tiles in workgroup memory, looping over the query heads that share
 *    the key head (grouped-query attention) — each output element has a single writer, so no atomics are needed.
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import { f32bits, type GpuStorage, type Runtime } from '../runtime.js';
import { ATTN_ROWS, attentionVariant, attentionVariantKey, attnShapes, attnTile, headDimLoop } from './attention.js';
import { LANE_WG, laneDkvCode, laneDqCode, laneTile } from './attention-lanes.js';
import { checkLanes } from './lane-reduce.js';
import { contiguousInput, ELEMENT_MAIN, freeAll } from './row.js';

const DELTA = `
@group(0) @binding(1) var<storage, read_write> delta: array<f32>;
@group(0) @binding(2) var<storage, read> o: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  let D = pu(1u);
  var s = 0.0;
  for (var d = 0u; d < D; d++) { s = fma(o[pu(2u) + i * D + d], g[pu(3u) + i * D + d], s); }
  delta[i] = s;
}`;

// Uniform block shared by dq and dk/dv: T, S, Hq, group, scale, causal, offsets q k v dO lse.
/** Steps of four keys (or queries) per iteration. */
const U = [0, 1, 2, 3];

const COMMON = (D: number, BC: number) => `
const D: u32 = ${D}u;
const BC: u32 = ${BC}u;
const R: u32 = ${ATTN_ROWS}u;
fn keyLimit(t: u32, T: u32, S: u32, causal: bool) -> u32 {
  if (!causal) { return S; }
  return u32(clamp(i32(t) + 1 + i32(S) - i32(T), 0, i32(S)));
}`;

const DQ = (D: number, BC: number, direct: boolean) => {
  const kAt = (d: string, u: number) => (direct ? `k[kb${u} + ${d}]` : `Ks[kb${u} + ${d}]`);
  const vAt = (d: string, u: number) => (direct ? `v[vb${u} + ${d}]` : `Vs[vb${u} + ${d}]`);
  const stage = direct
    ? ''
    : `for (var e = li; e < BC * D; e += R) {
      let ok = k0 + e / D < S;
      Ks[e] = select(0.0, k[kBase + k0 * D + e], ok);
      Vs[e] = select(0.0, v[vBase + k0 * D + e], ok);
    }
    workgroupBarrier();`;
  const shared = direct ? '' : `var<workgroup> Ks: array<f32, ${BC * D}>;\nvar<workgroup> Vs: array<f32, ${BC * D}>;`;
  return `${COMMON(D, BC)}
@group(0) @binding(1) var<storage, read_write> dq: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read> delta: array<f32>;
${shared}
@compute @workgroup_size(${ATTN_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let dim = min(pu(12u), D);
  let T = pu(0u); let S = pu(1u); let Hq = pu(2u); let group = pu(3u);
  let scale = pf(4u); let causal = pu(5u) != 0u;
  let bh = wid.y;
  let kvh = (bh / Hq) * (Hq / group) + (bh % Hq) / group;
  let t = wid.x * R + li;
  let tc = min(t, T - 1u);
  let row = bh * T + tc;
  let kBase = pu(7u) + kvh * S * D;
  let vBase = pu(8u) + kvh * S * D;
  let qb = pu(6u) + row * D;
  let gb = pu(9u) + row * D;
  var qr: array<f32, D>;
  var gr: array<f32, D>;
  var ar: array<f32, D>;
  ${headDimLoop(`qr[d] = q[qb + d] * scale; gr[d] = g[gb + d]; ar[d] = 0.0;`)}
  let L = lse[pu(10u) + row];
  let dl = delta[row];
  let limit = select(0u, keyLimit(tc, T, S, causal), t < T);
  let kEnd = keyLimit(min(T, wid.x * R + R) - 1u, T, S, causal);
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    ${stage}
    let jEnd = min(BC, kEnd - k0);
    // Four keys per step: independent dot-product chains and one pass over the accumulator.
    for (var j = 0u; j < jEnd; j += 4u) {
      ${U.map((u) => `let kb${u} = ${direct ? `kBase + min(k0 + j + ${u}u, S - 1u) * D` : `(j + ${u}u) * D`};`).join('\n      ')}
      ${U.map((u) => `let vb${u} = ${direct ? `vBase + min(k0 + j + ${u}u, S - 1u) * D` : `kb${u}`};`).join('\n      ')}
      var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
      var e0 = 0.0; var e1 = 0.0; var e2 = 0.0; var e3 = 0.0;
      ${headDimLoop(`let qd = qr[d]; let gd = gr[d]; ${U.map((u) => `s${u} = fma(qd, ${kAt('d', u)}, s${u}); e${u} = fma(gd, ${vAt('d', u)}, e${u});`).join(' ')}`)}
      ${U.map((u) => `let ds${u} = select(0.0, exp(s${u} - L) * (e${u} - dl) * scale, k0 + j + ${u}u < limit);`).join('\n      ')}
      ${headDimLoop(`ar[d] = fma(ds0, ${kAt('d', 0)}, fma(ds1, ${kAt('d', 1)}, fma(ds2, ${kAt('d', 2)}, fma(ds3, ${kAt('d', 3)}, ar[d]))));`)}
    }
    ${direct ? '' : 'workgroupBarrier();'}
  }
  if (t < T) {
    let ob = row * D;
    ${headDimLoop(`dq[ob + d] = ar[d];`)}
  }
}`;
};

const DKV = (D: number, BC: number, direct: boolean) => {
  const qAt = (d: string, u: number) => (direct ? `q[qb${u} + ${d}]` : `Qs[qb${u} + ${d}]`);
  const gAt = (d: string, u: number) => (direct ? `g[gb${u} + ${d}]` : `Gs[gb${u} + ${d}]`);
  const stage = direct
    ? ''
    : `for (var e = li; e < BC * D; e += R) {
        let ok = t0 + e / D < T;
        Qs[e] = select(0.0, q[pu(6u) + (bh * T + t0) * D + e], ok);
        Gs[e] = select(0.0, g[pu(9u) + (bh * T + t0) * D + e], ok);
      }
      for (var e = li; e < BC; e += R) {
        let ok = t0 + e < T;
        Ls[e] = select(0.0, lse[pu(10u) + bh * T + t0 + e], ok);
        Es[e] = select(0.0, delta[bh * T + t0 + e], ok);
      }
      workgroupBarrier();`;
  const shared = direct
    ? ''
    : `var<workgroup> Qs: array<f32, ${BC * D}>;
var<workgroup> Gs: array<f32, ${BC * D}>;
var<workgroup> Ls: array<f32, ${BC}>;
var<workgroup> Es: array<f32, ${BC}>;`;
  return `${COMMON(D, BC)}
@group(0) @binding(1) var<storage, read_write> dk: array<f32>;
@group(0) @binding(2) var<storage, read_write> dv: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
@group(0) @binding(6) var<storage, read> g: array<f32>;
@group(0) @binding(7) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<storage, read> delta: array<f32>;
${shared}
@compute @workgroup_size(${ATTN_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let dim = min(pu(12u), D);
  let T = pu(0u); let S = pu(1u); let Hq = pu(2u); let group = pu(3u);
  let scale = pf(4u); let causal = pu(5u) != 0u;
  let Hkv = Hq / group;
  let bkv = wid.y;                       // b·Hkv + kv head
  let b = bkv / Hkv;
  let s = wid.x * R + li;
  let sc = min(s, S - 1u);
  let kRow = bkv * S + sc;
  let kb0 = pu(7u) + kRow * D;
  let vb0 = pu(8u) + kRow * D;
  var kr: array<f32, D>;
  var vr: array<f32, D>;
  var dkr: array<f32, D>;
  var dvr: array<f32, D>;
  ${headDimLoop(`kr[d] = k[kb0 + d] * scale; vr[d] = v[vb0 + d]; dkr[d] = 0.0; dvr[d] = 0.0;`)}
  // Causal: query t sees key s iff t ≥ s − (S − T); the workgroup's first key bounds where queries start.
  let shift = i32(S) - i32(T);
  var tStart = 0u;
  if (causal) { tStart = u32(clamp(i32(wid.x * R) - shift, 0, i32(T))); }
  var tFirst = 0u;
  if (causal) { tFirst = u32(clamp(i32(sc) - shift, 0, i32(T))); }
  if (s >= S) { tFirst = T; }
  for (var hg = 0u; hg < group; hg++) {
    let bh = b * Hq + (bkv % Hkv) * group + hg;
    for (var t0 = ${direct ? 'tStart' : '(tStart / BC) * BC'}; t0 < T; t0 += BC) {
      ${stage}
      let iEnd = min(BC, T - t0);
      // Four queries per step, as in the dq kernel.
      for (var i = 0u; i < iEnd; i += 4u) {
        let t = t0 + i;
        ${U.map((u) => `let qb${u} = ${direct ? `pu(6u) + (bh * T + min(t + ${u}u, T - 1u)) * D` : `(i + ${u}u) * D`};`).join('\n        ')}
        ${U.map((u) => `let gb${u} = ${direct ? `pu(9u) + (bh * T + min(t + ${u}u, T - 1u)) * D` : `qb${u}`};`).join('\n        ')}
        var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
        var e0 = 0.0; var e1 = 0.0; var e2 = 0.0; var e3 = 0.0;
        ${headDimLoop(`let kd = kr[d]; let vd = vr[d]; ${U.map((u) => `s${u} = fma(${qAt('d', u)}, kd, s${u}); e${u} = fma(${gAt('d', u)}, vd, e${u});`).join(' ')}`)}
        ${U.map((u) => {
          const r = direct ? `bh * T + min(t + ${u}u, T - 1u)` : '';
          const L = direct ? `lse[pu(10u) + ${r}]` : `Ls[i + ${u}u]`;
          const E = direct ? `delta[${r}]` : `Es[i + ${u}u]`;
          return `let ok${u} = t + ${u}u < T && t + ${u}u >= tFirst;
        let p${u} = select(0.0, exp(s${u} - ${L}), ok${u});
        let ds${u} = p${u} * (e${u} - ${E}) * scale;`;
        }).join('\n        ')}
        ${headDimLoop(`dvr[d] = fma(p0, ${gAt('d', 0)}, fma(p1, ${gAt('d', 1)}, fma(p2, ${gAt('d', 2)}, fma(p3, ${gAt('d', 3)}, dvr[d])))); dkr[d] = fma(ds0, ${qAt('d', 0)}, fma(ds1, ${qAt('d', 1)}, fma(ds2, ${qAt('d', 2)}, fma(ds3, ${qAt('d', 3)}, dkr[d]))));`)}
      }
      ${direct ? '' : 'workgroupBarrier();'}
    }
  }
  if (s < S) {
    let ob = kRow * D;
    ${headDimLoop(`dk[ob + d] = dkr[d]; dv[ob + d] = dvr[d];`)}
  }
}`;
};

/** dq, dk, dv of fused attention, from dO, o and the forward's lse. */
export function attentionBackward(
  rt: Runtime,
  q: View,
  k: View,
  v: View,
  o: View,
  dO: View,
  lse: View,
  scale: number,
  causal: boolean,
): { dq: GpuStorage; dk: GpuStorage; dv: GpuStorage } {
  const { B, Hq, T, D, Hkv, S } = attnShapes(q, k, v);
  const dq = rt.alloc('float32', B * Hq * T * D);
  const dk = rt.alloc('float32', B * Hkv * S * D);
  const dv = rt.alloc('float32', B * Hkv * S * D);
  if (B * Hq * T * D === 0 || S === 0) {
    for (const s of [dq, dk, dv])
      rt.dispatch(
        rt.pipeline('attn:zero', () => ZERO),
        [s],
        [s.size],
        Math.ceil(s.size / 128),
      );
    return { dq, dk, dv };
  }
  const temps: GpuStorage[] = [];
  const [qv, kv, vv, ov, gv, lv] = [q, k, v, o, dO, lse].map((x) => contiguousInput(rt, x, temps)) as View[];
  const rows = B * Hq * T;
  const delta = rt.alloc('float32', rows);
  rt.dispatch(
    rt.pipeline('attn:delta', () => DELTA),
    [delta, ov!.storage, gv!.storage] as GpuStorage[],
    [rows, D, ov!.offset, gv!.offset],
    Math.ceil(rows / 128),
  );
  const variant = attentionVariant(rt, 'attention-backward', { B, Hq, Hkv, T, S, D, causal });
  const params = [
    T,
    S,
    Hq,
    Hq / Hkv,
    f32bits(scale),
    causal ? 1 : 0,
    qv!.offset,
    kv!.offset,
    vv!.offset,
    gv!.offset,
    lv!.offset,
    0,
    D,
  ];
  const s = (x: View) => x.storage as GpuStorage;
  const key = `${D}:${attentionVariantKey(variant)}`;
  let dqKernel: GPUComputePipeline;
  let dkvKernel: GPUComputePipeline;
  let perGroup = ATTN_ROWS;
  if (variant.kind === 'lanes') {
    checkLanes('attentionBackward', variant, LANE_WG);
    const BC = laneTile(D, variant);
    dqKernel = rt.pipeline(`attn:dq:${key}`, () => laneDqCode(D, BC, variant));
    dkvKernel = rt.pipeline(`attn:dkv:${key}`, () => laneDkvCode(D, BC, variant));
    perGroup = LANE_WG / variant.lanes;
  } else {
    const direct = variant.kind === 'direct';
    dqKernel = rt.pipeline(`attn:dq:${key}`, () => DQ(D, attnTile(D), direct));
    dkvKernel = rt.pipeline(`attn:dkv:${key}`, () => DKV(D, attnTile(D), direct));
  }
  rt.dispatch(dqKernel, [dq, s(qv!), s(kv!), s(vv!), s(gv!), s(lv!), delta], params, [
    Math.ceil(T / perGroup),
    B * Hq,
    1,
  ]);
  rt.dispatch(dkvKernel, [dk, dv, s(qv!), s(kv!), s(vv!), s(gv!), s(lv!), delta], params, [
    Math.ceil(S / perGroup),
    B * Hkv,
    1,
  ]);
  rt.free(delta);
  freeAll(rt, temps);
  return { dq, dk, dv };
}

const ZERO = `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${ELEMENT_MAIN}
  if (i < pu(0u)) { out[i] = 0.0; }
}`;
