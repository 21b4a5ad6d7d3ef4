/**
 * Fused flash-attention backward, recomputing probabilities from the forward's lse (no [T, S] buffer):
 * 1. delta[row] = dO·O per query row;
 * 2. dq: query rows per invocation (one, or eight in `direct`), K/V read from storage (`direct`) or from tiles in
 *    workgroup memory (`tiled`);
 * 3. dk, dv: key rows per invocation likewise, Q/dO from storage or tiles, looping over the query heads that share
 *    the key head (grouped-query attention) — each output element has a single writer, so no atomics are needed.
 * The per-step math is shared with every attention kernel (`attention-wgsl.ts`).
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import { f32bits, type GpuStorage, type Runtime } from '../runtime.js';
import {
  ATTN_ROWS,
  attentionVariant,
  attentionVariantKey,
  attnShapes,
  type DirectRows,
  directRows,
  oneRowKeyLoop,
  oneRowShape,
} from './attention.js';
import { LANE_WG, laneDkvCode, laneDqCode, laneTile } from './attention-lanes.js';
import {
  ATTN_UNIFORMS,
  attnConsts,
  DKV_BINDINGS,
  DQ_BINDINGS,
  dkvStep,
  dqStep,
  headDimLoop,
  KEY_LIMIT,
  KV_HEAD,
  perRow,
  range,
  rowName,
  stageRowStats,
  stageTiles,
  tileDecls,
} from './attention-wgsl.js';
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

const DQ = (D: number, direct: boolean, rows: DirectRows) => {
  const { U, R, BC } = oneRowShape(D, direct, 'backward', rows);
  const W = ATTN_ROWS / R;
  const n = (base: string, r: number) => rowName(base, r, R);
  return `${attnConsts(D, BC)}
${KEY_LIMIT}
${DQ_BINDINGS}
${direct ? '' : tileDecls(['Ks', 'Vs'], BC * D)}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${ATTN_UNIFORMS}
  let bh = wid.y;
  ${KV_HEAD}
  let kBase = pu(7u) + kvh * S * D;
  let vBase = pu(8u) + kvh * S * D;
  ${perRow(
    R,
    (r) => `let ${n('t', r)} = wid.x * ${ATTN_ROWS}u + ${r * W}u + li;
  let ${n('row', r)} = bh * T + min(${n('t', r)}, T - 1u);
  var ${n('qr', r)}: array<f32, D>;
  var ${n('gr', r)}: array<f32, D>;
  var ${n('ar', r)}: array<f32, D>;
  ${headDimLoop(`${n('qr', r)}[d] = q[pu(6u) + ${n('row', r)} * D + d] * scale; ${n('gr', r)}[d] = g[pu(9u) + ${n('row', r)} * D + d]; ${n('ar', r)}[d] = 0.0;`)}
  let ${n('Lr', r)} = lse[pu(10u) + ${n('row', r)}];
  let ${n('dl', r)} = delta[${n('row', r)}];
  let ${n('limit', r)} = select(0u, keyLimit(min(${n('t', r)}, T - 1u), T, S, causal), ${n('t', r)} < T);`,
  )}
  let kEnd = keyLimit(min(T, wid.x * ${ATTN_ROWS}u + ${ATTN_ROWS}u) - 1u, T, S, causal);
  ${oneRowKeyLoop(direct, U, W, (access) =>
    dqStep({ ...access, R, ok: (u, r) => `k0 + j + ${u}u < ${n('limit', r)}` }),
  )}
  ${perRow(R, (r) => `if (${n('t', r)} < T) { ${headDimLoop(`dq[${n('row', r)} * D + d] = ${n('ar', r)}[d];`)} }`)}
}`;
};

const DKV = (D: number, direct: boolean, rows: DirectRows) => {
  const { U, R, BC } = oneRowShape(D, direct, 'backward', rows);
  const W = ATTN_ROWS / R;
  const n = (base: string, r: number) => rowName(base, r, R);
  const [Q, G] = direct ? ['q', 'g'] : ['Qs', 'Gs'];
  const stage = direct
    ? ''
    : `${stageTiles('Qs', 'Gs', 'q[pu(6u) + (bh * T + t0) * D + e]', 'g[pu(9u) + (bh * T + t0) * D + e]', 't0', 'T', W)}
      ${stageRowStats(W)}
      workgroupBarrier();`;
  const rowOf = (u: number) => `bh * T + min(t + ${u}u, T - 1u)`;
  return `${attnConsts(D, BC)}
${DKV_BINDINGS}
${direct ? '' : `${tileDecls(['Qs', 'Gs'], BC * D)}\n${tileDecls(['Ls', 'Es'], BC)}`}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${ATTN_UNIFORMS}
  let Hkv = Hq / group;
  let bkv = wid.y;                       // b·Hkv + kv head
  let b = bkv / Hkv;
  // Causal: query t sees key s iff t ≥ s − (S − T); the workgroup's first key bounds where queries start.
  let shift = i32(S) - i32(T);
  var tStart = 0u;
  if (causal) { tStart = u32(clamp(i32(wid.x * ${ATTN_ROWS}u) - shift, 0, i32(T))); }
  ${perRow(
    R,
    (r) => `let ${n('s', r)} = wid.x * ${ATTN_ROWS}u + ${r * W}u + li;
  let ${n('kRow', r)} = bkv * S + min(${n('s', r)}, S - 1u);
  var ${n('kr', r)}: array<f32, D>;
  var ${n('vr', r)}: array<f32, D>;
  var ${n('dkr', r)}: array<f32, D>;
  var ${n('dvr', r)}: array<f32, D>;
  ${headDimLoop(`${n('kr', r)}[d] = k[pu(7u) + ${n('kRow', r)} * D + d] * scale; ${n('vr', r)}[d] = v[pu(8u) + ${n('kRow', r)} * D + d]; ${n('dkr', r)}[d] = 0.0; ${n('dvr', r)}[d] = 0.0;`)}
  var ${n('tFirst', r)} = 0u;
  if (causal) { ${n('tFirst', r)} = u32(clamp(i32(min(${n('s', r)}, S - 1u)) - shift, 0, i32(T))); }
  if (${n('s', r)} >= S) { ${n('tFirst', r)} = T; }`,
  )}
  for (var hg = 0u; hg < group; hg++) {
    let bh = b * Hq + (bkv % Hkv) * group + hg;
    for (var t0 = ${direct ? 'tStart' : '(tStart / BC) * BC'}; t0 < T; t0 += BC) {
      ${stage}
      let iEnd = min(BC, T - t0);
      for (var i = 0u; i < iEnd; i += ${U}u) {
        let t = t0 + i;
        ${range(U)
          .map((u) => `let qb${u} = ${direct ? `pu(6u) + (${rowOf(u)}) * D` : `(i + ${u}u) * D`};`)
          .join('\n        ')}
        ${
          direct
            ? range(U)
                .map((u) => `let gb${u} = pu(9u) + (${rowOf(u)}) * D;`)
                .join('\n        ')
            : ''
        }
        ${dkvStep(
          {
            U,
            R,
            first: (u, d) => `${Q}[qb${u} + ${d}]`,
            second: (u, d) => `${G}[${direct ? 'gb' : 'qb'}${u} + ${d}]`,
            ok: (u, r) => `t + ${u}u < T && t + ${u}u >= ${n('tFirst', r)}`,
          },
          (u) => (direct ? `lse[pu(10u) + ${rowOf(u)}]` : `Ls[i + ${u}u]`),
          (u) => (direct ? `delta[${rowOf(u)}]` : `Es[i + ${u}u]`),
        )}
      }
      ${direct ? '' : 'workgroupBarrier();'}
    }
  }
  ${perRow(R, (r) => `if (${n('s', r)} < S) { ${headDimLoop(`dk[${n('kRow', r)} * D + d] = ${n('dkr', r)}[d]; dv[${n('kRow', r)} * D + d] = ${n('dvr', r)}[d];`)} }`)}
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
    const rows = directRows(variant);
    dqKernel = rt.pipeline(`attn:dq:${key}`, () => DQ(D, direct, rows));
    dkvKernel = rt.pipeline(`attn:dkv:${key}`, () => DKV(D, direct, rows));
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
