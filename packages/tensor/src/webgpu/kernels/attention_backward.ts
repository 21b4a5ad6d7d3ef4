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
import { ATTN_ROWS, attnShapes, attnTile } from './attention.js';
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
const COMMON = (D: number, BC: number) => `
const D: u32 = ${D}u;
const BC: u32 = ${BC}u;
const R: u32 = ${ATTN_ROWS}u;
fn keyLimit(t: u32, T: u32, S: u32, causal: bool) -> u32 {
  if (!causal) { return S; }
  return u32(clamp(i32(t) + 1 + i32(S) - i32(T), 0, i32(S)));
}`;

const DQ = (D: number, BC: number) => `${COMMON(D, BC)}
@group(0) @binding(1) var<storage, read_write> dq: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read> delta: array<f32>;
var<workgroup> Ks: array<f32, ${BC * D}>;
var<workgroup> Vs: array<f32, ${BC * D}>;
@compute @workgroup_size(${ATTN_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let T = pu(0u); let S = pu(1u); let Hq = pu(2u); let group = pu(3u);
  let scale = pf(4u); let causal = pu(5u) != 0u;
  let bh = wid.y;
  let kvh = (bh / Hq) * (Hq / group) + (bh % Hq) / group;
  let t = wid.x * R + li;
  let tc = min(t, T - 1u);
  let row = bh * T + tc;
  let kBase = pu(7u) + kvh * S * D;
  let vBase = pu(8u) + kvh * S * D;
  var qr: array<f32, ${D}>;
  var gr: array<f32, ${D}>;
  var acc: array<f32, ${D}>;
  for (var d = 0u; d < D; d++) {
    qr[d] = q[pu(6u) + row * D + d] * scale;
    gr[d] = g[pu(9u) + row * D + d];
    acc[d] = 0.0;
  }
  let L = lse[pu(10u) + row];
  let dl = delta[row];
  let limit = select(0u, keyLimit(tc, T, S, causal), t < T);
  let kEnd = keyLimit(min(T, wid.x * R + R) - 1u, T, S, causal);
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    for (var e = li; e < BC * D; e += R) {
      let ok = k0 + e / D < S;
      Ks[e] = select(0.0, k[kBase + k0 * D + e], ok);
      Vs[e] = select(0.0, v[vBase + k0 * D + e], ok);
    }
    workgroupBarrier();
    for (var j = 0u; j < BC; j++) {
      if (k0 + j >= limit) { break; }
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < D; d++) {
        s = fma(qr[d], Ks[j * D + d], s);
        dp = fma(gr[d], Vs[j * D + d], dp);
      }
      let ds = exp(s - L) * (dp - dl) * scale;
      for (var d = 0u; d < D; d++) { acc[d] = fma(ds, Ks[j * D + d], acc[d]); }
    }
    workgroupBarrier();
  }
  if (t < T) {
    for (var d = 0u; d < D; d++) { dq[row * D + d] = acc[d]; }
  }
}`;

const DKV = (D: number, BC: number) => `${COMMON(D, BC)}
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
@compute @workgroup_size(${ATTN_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let T = pu(0u); let S = pu(1u); let Hq = pu(2u); let group = pu(3u);
  let scale = pf(4u); let causal = pu(5u) != 0u;
  let Hkv = Hq / group;
  let bkv = wid.y;                       // b·Hkv + kv head
  let b = bkv / Hkv;
  let s = wid.x * R + li;
  let sc = min(s, S - 1u);
  let kRow = bkv * S + sc;
  var kr: array<f32, ${D}>;
  var vr: array<f32, ${D}>;
  var dkr: array<f32, ${D}>;
  var dvr: array<f32, ${D}>;
  for (var d = 0u; d < D; d++) {
    kr[d] = k[pu(7u) + kRow * D + d];
    vr[d] = v[pu(8u) + kRow * D + d];
    dkr[d] = 0.0;
    dvr[d] = 0.0;
  }
  // Causal: query t sees key s iff t ≥ s − (S − T); the workgroup's first key bounds where queries start.
  let shift = i32(S) - i32(T);
  var tStart = 0u;
  if (causal) { tStart = u32(clamp(i32(wid.x * R) - shift, 0, i32(T))); }
  let tFirst = u32(clamp(i32(sc) - shift, 0, i32(T)));
  for (var hg = 0u; hg < group; hg++) {
    let bh = b * Hq + (bkv % Hkv) * group + hg;
    for (var t0 = (tStart / BC) * BC; t0 < T; t0 += BC) {
      for (var e = li; e < BC * D; e += R) {
        let ok = t0 + e / D < T;
        Qs[e] = select(0.0, q[pu(6u) + (bh * T + t0) * D + e], ok);
        Gs[e] = select(0.0, g[pu(9u) + (bh * T + t0) * D + e], ok);
      }
      for (var e = li; e < BC; e += R) {
        let ok = t0 + e < T;
        Ls[e] = select(0.0, lse[pu(10u) + bh * T + t0 + e], ok);
        Es[e] = select(0.0, delta[bh * T + t0 + e], ok);
      }
      workgroupBarrier();
      if (s < S) {
        for (var i = 0u; i < BC; i++) {
          let t = t0 + i;
          if (t >= T) { break; }
          if (causal && t < tFirst) { continue; }
          var sc2 = 0.0;
          var dp = 0.0;
          for (var d = 0u; d < D; d++) {
            sc2 = fma(Qs[i * D + d], kr[d], sc2);
            dp = fma(Gs[i * D + d], vr[d], dp);
          }
          let p = exp(sc2 * scale - Ls[i]);
          let ds = p * (dp - Es[i]) * scale;
          for (var d = 0u; d < D; d++) {
            dvr[d] = fma(p, Gs[i * D + d], dvr[d]);
            dkr[d] = fma(ds, Qs[i * D + d], dkr[d]);
          }
        }
      }
      workgroupBarrier();
    }
  }
  if (s < S) {
    for (var d = 0u; d < D; d++) {
      dk[kRow * D + d] = dkr[d];
      dv[kRow * D + d] = dvr[d];
    }
  }
}`;

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
  const BC = attnTile(D);
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
  ];
  const s = (x: View) => x.storage as GpuStorage;
  rt.dispatch(
    rt.pipeline(`attn:dq:${D}`, () => DQ(D, BC)),
    [dq, s(qv!), s(kv!), s(vv!), s(gv!), s(lv!), delta],
    params,
    [Math.ceil(T / ATTN_ROWS), B * Hq, 1],
  );
  rt.dispatch(
    rt.pipeline(`attn:dkv:${D}`, () => DKV(D, BC)),
    [dk, dv, s(qv!), s(kv!), s(vv!), s(gv!), s(lv!), delta],
    params,
    [Math.ceil(S / ATTN_ROWS), B * Hkv, 1],
  );
  rt.free(delta);
  freeAll(rt, temps);
  return { dq, dk, dv };
}

const ZERO = `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${ELEMENT_MAIN}
  if (i < pu(0u)) { out[i] = 0.0; }
}`;
