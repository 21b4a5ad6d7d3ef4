/**
 * Fused flash-attention forward: one invocation per query row, key/value tiles staged in workgroup memory, an
 * online softmax per tile (scores of the tile, one rescale, then the weighted values), so memory stays O(T·D) per
 * head. Grouped-query heads index their shared k/v head; causal rows t see keys s ≤ t + (S − T).
 *
 * The kernel is specialised on the head dim D (private arrays need a constant size; models use one or two D).
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import { f32bits, type GpuStorage, type Runtime } from '../runtime.js';
import { contiguousInput, freeAll } from './row.js';

/** Query (or key) rows per workgroup: one invocation each. */
export const ATTN_ROWS = 64;
/** Largest head dim the fused kernels accept. */
export const ATTN_MAX_D = 256;

/** Rows per staged K/V (or Q/dO) tile: two [tile, D] float tiles (plus two [tile] rows) must fit the 16 KiB compatibility limit. */
export function attnTile(D: number): number {
  return Math.max(1, Math.min(64, Math.floor(2048 / (D + 1))));
}

/** Shape checks and the common uniform block: T, S, Hq, group, scale, causal, then offsets from word 6. */
export function attnShapes(
  q: View,
  k: View,
  v: View,
): { B: number; Hq: number; T: number; D: number; Hkv: number; S: number } {
  const [B, Hq, T, D] = q.shape as [number, number, number, number];
  const [Bk, Hkv, S, Dk] = k.shape as [number, number, number, number];
  if (Bk !== B || Dk !== D || Hq % Hkv !== 0 || v.shape.join() !== k.shape.join()) {
    throw new Error(
      `webgpu.attention: q [${q.shape.join(', ')}], k [${k.shape.join(', ')}], v [${v.shape.join(', ')}] do not match`,
    );
  }
  if (D > ATTN_MAX_D) throw new Error(`webgpu.attention: head dim ${D} > ${ATTN_MAX_D}`);
  return { B, Hq, T, D, Hkv, S };
}

const FORWARD = (D: number, BC: number) => `
const D: u32 = ${D}u;
const BC: u32 = ${BC}u;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
var<workgroup> Ks: array<f32, ${BC * D}>;
var<workgroup> Vs: array<f32, ${BC * D}>;
@compute @workgroup_size(${ATTN_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let T = pu(0u); let S = pu(1u); let Hq = pu(2u); let group = pu(3u);
  let scale = pf(4u); let causal = pu(5u) != 0u;
  let bh = wid.y;                       // b·Hq + h
  let kvh = (bh / Hq) * (Hq / group) + (bh % Hq) / group;
  let t = wid.x * ${ATTN_ROWS}u + li;
  let live = t < T;
  let qBase = pu(6u) + (bh * T + min(t, T - 1u)) * D;
  let kBase = pu(7u) + kvh * S * D;
  let vBase = pu(8u) + kvh * S * D;
  var qr: array<f32, ${D}>;
  var acc: array<f32, ${D}>;
  for (var d = 0u; d < D; d++) { qr[d] = q[qBase + d] * scale; acc[d] = 0.0; }
  // Causal rows see keys s < t + 1 + (S − T); kEnd is the bound of the workgroup's last row (uniform).
  let shift = i32(S) - i32(T);
  let lastRow = min(T, wid.x * ${ATTN_ROWS}u + ${ATTN_ROWS}u) - 1u;
  var kEnd = S;
  var limit = S;
  if (causal) {
    kEnd = u32(clamp(i32(lastRow) + 1 + shift, 0, i32(S)));
    limit = u32(clamp(i32(t) + 1 + shift, 0, i32(S)));
  }
  var m = -inf_();
  var l = 0.0;
  var sc: array<f32, ${BC}>;
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    for (var e = li; e < BC * D; e += ${ATTN_ROWS}u) {
      let row = k0 + e / D;
      let ok = row < S;
      Ks[e] = select(0.0, k[kBase + k0 * D + e], ok);
      Vs[e] = select(0.0, v[vBase + k0 * D + e], ok);
    }
    workgroupBarrier();
    var tileMax = -inf_();
    for (var j = 0u; j < BC; j++) {
      var s = 0.0;
      for (var d = 0u; d < D; d++) { s = fma(qr[d], Ks[j * D + d], s); }
      let key = k0 + j;
      s = select(-inf_(), s, key < S && key < limit);
      sc[j] = s;
      tileMax = max(tileMax, s);
    }
    let mNew = max(m, tileMax);
    if (mNew > -inf_()) {
      let corr = exp(m - mNew);
      l = l * corr;
      for (var d = 0u; d < D; d++) { acc[d] = acc[d] * corr; }
      for (var j = 0u; j < BC; j++) {
        let p = exp(sc[j] - mNew);
        l += p;
        for (var d = 0u; d < D; d++) { acc[d] = fma(p, Vs[j * D + d], acc[d]); }
      }
      m = mNew;
    }
    workgroupBarrier();
  }
  if (live) {
    let row = bh * T + t;
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var d = 0u; d < D; d++) { o[row * D + d] = acc[d] * inv; }
    lse[row] = select(-inf_(), m + log(l), l > 0.0);
  }
}`;

/** Fused attention forward: o [B, Hq, T, D] and lse [B, Hq, T] (−inf, with o = 0, for rows that see no key). */
export function attention(
  rt: Runtime,
  q: View,
  k: View,
  v: View,
  scale: number,
  causal: boolean,
): { o: GpuStorage; lse: GpuStorage } {
  const { B, Hq, T, D, Hkv, S } = attnShapes(q, k, v);
  const o = rt.alloc('float32', B * Hq * T * D);
  const lse = rt.alloc('float32', B * Hq * T);
  if (B * Hq * T === 0) return { o, lse };
  const temps: GpuStorage[] = [];
  const [qv, kv, vv] = [q, k, v].map((x) => contiguousInput(rt, x, temps)) as [View, View, View];
  const BC = attnTile(D);
  const p = rt.pipeline(`attn:fwd:${D}`, () => FORWARD(D, BC));
  const params = [T, S, Hq, Hq / Hkv, f32bits(scale), causal ? 1 : 0, qv.offset, kv.offset, vv.offset];
  const storages = [o, lse, qv.storage, kv.storage, vv.storage] as GpuStorage[];
  rt.dispatch(p, storages, params, [Math.ceil(T / ATTN_ROWS), B * Hq, 1]);
  freeAll(rt, temps);
  return { o, lse };
}
