/**
 * Fused flash-attention forward: one invocation per query row, key/value tiles staged in workgroup memory, an
 * online softmax per tile (scores of the tile, one rescale, then the weighted values), so memory stays O(T·D) per
 * head. Grouped-query heads index their shared k/v head; causal rows t see keys s ≤ t + (S − T).
 *
 * The kernel is specialised on the head dim D (private arrays need a constant size; models use one or two D).
 * This file holds the one-row-per-invocation kernels (`direct`, `tiled`) and the variant choice; the kernels with a
 * lane group per row (`w…`, `g…`) are in `attention-lanes.ts`.
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import { f32bits, type GpuStorage, type Runtime } from '../runtime.js';
import { chooseVariant } from '../tuning/switchboard.js';
import { LANE_WG, laneForwardCode, laneTile } from './attention-lanes.js';
import { checkLanes, type LaneReduce } from './lane-reduce.js';
import { contiguousInput, freeAll } from './row.js';

/** Query (or key) rows per workgroup: one invocation each. */
export const ATTN_ROWS = 64;
/** Largest head dim the fused kernels accept. */
export const ATTN_MAX_D = 256;

/** Rows per staged K/V (or Q/dO) tile: two [tile, D] float tiles (plus two [tile] rows) must fit the 16 KiB compatibility limit. */
export function attnTile(D: number): number {
  return Math.max(4, 4 * Math.floor(Math.min(64, Math.floor(2048 / (D + 1))) / 4));
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

/**
 * WGSL for a loop of `body` over the head dim index `d` (0 ≤ d < D). The bound `dim` is the uniform word 12 (= D),
 * not a constant: with a constant bound LLVM unrolls everything and lavapipe compiles for minutes; named scalars were
 * no faster.
 */
export function headDimLoop(body: string): string {
  return `for (var d = 0u; d < dim; d++) { ${body} }`;
}

/**
 * Forward kernel text. `direct` reads K/V rows straight from storage (every invocation reads the same key, a uniform
 * broadcast) instead of staging tiles in workgroup memory behind barriers — the faster form on CPU adapters.
 */
const FORWARD = (D: number, BC: number, direct: boolean) => {
  const kAt = (d: string, u: number) => (direct ? `k[kb${u} + ${d}]` : `Ks[kb${u} + ${d}]`);
  const vAt = (d: string, u: number) => (direct ? `v[vb${u} + ${d}]` : `Vs[vb${u} + ${d}]`);
  const stage = direct
    ? ''
    : `for (var e = li; e < BC * D; e += ${ATTN_ROWS}u) {
      let ok = k0 + e / D < S;
      Ks[e] = select(0.0, k[kBase + k0 * D + e], ok);
      Vs[e] = select(0.0, v[vBase + k0 * D + e], ok);
    }
    workgroupBarrier();`;
  const shared = direct ? '' : `var<workgroup> Ks: array<f32, ${BC * D}>;\nvar<workgroup> Vs: array<f32, ${BC * D}>;`;
  return `
const D: u32 = ${D}u;
const BC: u32 = ${BC}u;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
${shared}
@compute @workgroup_size(${ATTN_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let dim = min(pu(12u), D);
  let T = pu(0u); let S = pu(1u); let Hq = pu(2u); let group = pu(3u);
  let scale = pf(4u); let causal = pu(5u) != 0u;
  let bh = wid.y;                       // b·Hq + h
  let kvh = (bh / Hq) * (Hq / group) + (bh % Hq) / group;
  let t = wid.x * ${ATTN_ROWS}u + li;
  let live = t < T;
  let qBase = pu(6u) + (bh * T + min(t, T - 1u)) * D;
  let kBase = pu(7u) + kvh * S * D;
  let vBase = pu(8u) + kvh * S * D;
  var qr: array<f32, D>;
  var ar: array<f32, D>;
  ${headDimLoop(`qr[d] = q[qBase + d] * scale; ar[d] = 0.0;`)}
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
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    ${stage}
    let jEnd = min(BC, kEnd - k0);
    // Four keys per step: four independent dot-product chains, one rescale, one pass over the accumulator.
    for (var j = 0u; j < jEnd; j += 4u) {
      ${[0, 1, 2, 3].map((u) => `let kb${u} = ${direct ? `kBase + min(k0 + j + ${u}u, S - 1u) * D` : `(j + ${u}u) * D`};`).join('\n      ')}
      ${[0, 1, 2, 3].map((u) => `let vb${u} = ${direct ? `vBase + min(k0 + j + ${u}u, S - 1u) * D` : `kb${u}`};`).join('\n      ')}
      var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
      ${headDimLoop(`let qd = qr[d]; s0 = fma(qd, ${kAt('d', 0)}, s0); s1 = fma(qd, ${kAt('d', 1)}, s1); s2 = fma(qd, ${kAt('d', 2)}, s2); s3 = fma(qd, ${kAt('d', 3)}, s3);`)}
      let key = k0 + j;
      s0 = select(-inf_(), s0, key < limit);
      s1 = select(-inf_(), s1, key + 1u < limit);
      s2 = select(-inf_(), s2, key + 2u < limit);
      s3 = select(-inf_(), s3, key + 3u < limit);
      let mx = max(max(s0, s1), max(s2, s3));
      if (mx > m) {
        // Online softmax: rescale only when the running max grows.
        let corr = exp(m - mx);
        l = l * corr;
        ${headDimLoop(`ar[d] = ar[d] * corr;`)}
        m = mx;
      }
      if (mx > -inf_()) {
        let p0 = exp(s0 - m); let p1 = exp(s1 - m); let p2 = exp(s2 - m); let p3 = exp(s3 - m);
        l += (p0 + p1) + (p2 + p3);
        ${headDimLoop(`ar[d] = fma(p0, ${vAt('d', 0)}, fma(p1, ${vAt('d', 1)}, fma(p2, ${vAt('d', 2)}, fma(p3, ${vAt('d', 3)}, ar[d]))));`)}
      }
    }
    ${direct ? '' : 'workgroupBarrier();'}
  }
  if (live) {
    let row = bh * T + t;
    let inv = select(0.0, 1.0 / l, l > 0.0);
    let ob = row * D;
    ${headDimLoop(`o[ob + d] = ar[d] * inv;`)}
    lse[row] = select(-inf_(), m + log(l), l > 0.0);
  }
}`;
};

/** The problem the switchboard classifies for the attention families. */
export interface AttentionProblem {
  B: number;
  Hq: number;
  Hkv: number;
  T: number;
  S: number;
  D: number;
  causal: boolean;
}

/**
 * An attention variant: `direct` (one invocation per row reading K/V straight from storage: CPU adapters),
 * `tiled` (one invocation per row, K/V or Q/dO tiles staged in workgroup memory) or `lanes` (tiles in workgroup
 * memory, `lanes` invocations per row folded by subgroup shuffles or a workgroup-memory tree: `attention-lanes.ts`).
 */
export type AttentionVariant = { kind: 'direct' } | { kind: 'tiled' } | ({ kind: 'lanes' } & LaneReduce);

let variantOverride: AttentionVariant | undefined;
/** Forces one attention variant for forward and backward (tests, benchmarks); `undefined` releases it. */
export function setAttentionVariant(v: AttentionVariant | undefined): void {
  variantOverride = v;
}

/**
 * The attention variant `family` ('attention' or 'attention-backward') runs for `problem`: the override, else the
 * switchboard, else direct on CPU adapters and tiled elsewhere.
 */
export function attentionVariant(rt: Runtime, family: string, problem: AttentionProblem): AttentionVariant {
  if (variantOverride) return variantOverride;
  return chooseVariant<AttentionVariant>(rt, family, problem) ?? { kind: rt.cpuAdapter ? 'direct' : 'tiled' };
}

/** Pipeline-cache key part of a variant. */
export function attentionVariantKey(v: AttentionVariant): string {
  return v.kind === 'lanes' ? `lanes${v.lanes}${v.subgroups ? 'sg' : 'wg'}` : v.kind;
}

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
  const variant = attentionVariant(rt, 'attention', { B, Hq, Hkv, T, S, D, causal });
  const params = [T, S, Hq, Hq / Hkv, f32bits(scale), causal ? 1 : 0, qv.offset, kv.offset, vv.offset, 0, 0, 0, D];
  const storages = [o, lse, qv.storage, kv.storage, vv.storage] as GpuStorage[];
  if (variant.kind === 'lanes') {
    checkLanes('attention', variant, LANE_WG);
    const BC = laneTile(D, variant);
    const p = rt.pipeline(`attn:fwd:${D}:${attentionVariantKey(variant)}`, () => laneForwardCode(D, BC, variant));
    rt.dispatch(p, storages, params, [Math.ceil((T * variant.lanes) / LANE_WG), B * Hq, 1]);
  } else {
    const direct = variant.kind === 'direct';
    const p = rt.pipeline(`attn:fwd:${D}:${direct}`, () => FORWARD(D, attnTile(D), direct));
    rt.dispatch(p, storages, params, [Math.ceil(T / ATTN_ROWS), B * Hq, 1]);
  }
  freeAll(rt, temps);
  return { o, lse };
}
