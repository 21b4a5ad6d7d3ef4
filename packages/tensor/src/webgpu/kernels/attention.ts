/**
 * Fused flash-attention forward: query rows per invocation (one, or eight in `direct`), keys and values read from
 * storage (`direct`) or staged tiles in workgroup memory (`tiled`), an online softmax over steps of several keys
 * (scores of the step, one rescale, then the weighted values), so memory stays O(T·D) per head. Grouped-query heads index their shared k/v head; causal rows t see keys s ≤ t + (S − T).
 *
 * The kernel is specialised on the head dim D (private arrays need a constant size; models use one or two D).
 * This file holds the kernels without lanes (`direct`, `tiled`) and the variant choice; the kernels with a lane group
 * per row (`w…`, `g…`) are in `attention-lanes.ts`; the WGSL pieces all of them share are in `attention-wgsl.ts`.
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import { f32bits, type GpuStorage, type Runtime } from '../runtime.js';
import { chooseVariant } from '../tuning/switchboard.js';
import { LANE_WG, laneForwardCode, laneTile } from './attention-lanes.js';
import {
  ATTN_UNIFORMS,
  attnConsts,
  FORWARD_BINDINGS,
  forwardStep,
  headDimLoop,
  KV_HEAD,
  perRow,
  range,
  rowName,
  type StepAccess,
  stageTiles,
  tileDecls,
} from './attention-wgsl.js';
import { checkLanes, type LaneReduce } from './lane-reduce.js';
import { contiguousInput, freeAll } from './row.js';

/** Query (or key) rows per workgroup of the `direct` and `tiled` kernels. */
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
 * Step shape of the one-row kernels: `U` keys (queries) per step, `R` rows per invocation (a workgroup of
 * `ATTN_ROWS / R` invocations still owns {@link ATTN_ROWS} rows), `BC` rows per tile. On lavapipe every load indexed by
 * a loop variable — a K/V element from storage, a private `qr[d]` — costs eight scalar loads (one per SIMD lane, even
 * when all lanes read the same address), so `direct` lets each loaded key element serve eight rows (one SIMD-wide
 * workgroup); the forward takes eight keys per step, the backward's two chains per key (scores and dO·Vᵀ) four.
 * `tiled` (GPUs) keeps one row per invocation, four keys per step and the tile that fits workgroup memory.
 */
export function oneRowShape(
  D: number,
  direct: boolean,
  pass: 'forward' | 'backward',
  rows: DirectRows = 8,
): { U: number; R: number; BC: number } {
  if (!direct) return { U: 4, R: 1, BC: attnTile(D) };
  if (rows === 1) return { U: 4, R: 1, BC: 64 };
  return { U: pass === 'forward' ? 8 : 4, R: 8, BC: 64 };
}

/** Query (key) rows per invocation of a `direct` kernel: eight (lavapipe) or one (`direct1`). */
export type DirectRows = 1 | 8;

/** The rows per invocation of a `direct` variant (eight unless it says one). */
export function directRows(v: AttentionVariant): DirectRows {
  return v.kind === 'direct' && v.rows === 1 ? 1 : 8;
}

/**
 * The key loop of the one-row forward and dq kernels up to kEnd (the workgroup's causal bound), `U` keys per step:
 * `direct` reads the keys' K/V rows from storage (rows clamped to S − 1; the step's `ok` masks them), `tiled` stages
 * [BC, D] tiles in workgroup memory first (`W` invocations). `step` gets where the step's key elements live.
 */
export function oneRowKeyLoop(
  direct: boolean,
  U: number,
  W: number,
  step: (access: Pick<StepAccess, 'U' | 'first' | 'second'>) => string,
): string {
  const stage = direct
    ? ''
    : `${stageTiles('Ks', 'Vs', 'k[kBase + k0 * D + e]', 'v[vBase + k0 * D + e]', 'k0', 'S', W)}
    workgroupBarrier();`;
  const rows = (base: string) =>
    range(U).map((u) => `let ${base}${u} = ${base === 'kb' ? 'kBase' : 'vBase'} + min(k0 + j + ${u}u, S - 1u) * D;`);
  const offsets = direct ? [...rows('kb'), ...rows('vb')] : range(U).map((u) => `let kb${u} = (j + ${u}u) * D;`);
  return `for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    ${stage}
    let jEnd = min(BC, kEnd - k0);
    for (var j = 0u; j < jEnd; j += ${U}u) {
      ${offsets.join('\n      ')}
      ${step({
        U,
        first: (u, d) => (direct ? `k[kb${u} + ${d}]` : `Ks[kb${u} + ${d}]`),
        second: (u, d) => (direct ? `v[vb${u} + ${d}]` : `Vs[kb${u} + ${d}]`),
      })}
    }
    ${direct ? '' : 'workgroupBarrier();'}
  }`;
}

/**
 * Forward kernel text. `direct` reads K/V rows straight from storage (every invocation reads the same key, a uniform
 * broadcast) instead of staging tiles in workgroup memory behind barriers — the faster form on CPU adapters.
 */
const FORWARD = (D: number, direct: boolean, rows: DirectRows) => {
  const { U, R, BC } = oneRowShape(D, direct, 'forward', rows);
  const W = ATTN_ROWS / R;
  const n = (base: string, r: number) => rowName(base, r, R);
  return `${attnConsts(D, BC)}
${FORWARD_BINDINGS}
${direct ? '' : tileDecls(['Ks', 'Vs'], BC * D)}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${ATTN_UNIFORMS}
  let bh = wid.y;                       // b·Hq + h
  ${KV_HEAD}
  let kBase = pu(7u) + kvh * S * D;
  let vBase = pu(8u) + kvh * S * D;
  // Causal rows see keys s < t + 1 + (S − T); kEnd is the bound of the workgroup's last row (uniform).
  let shift = i32(S) - i32(T);
  let lastRow = min(T, wid.x * ${ATTN_ROWS}u + ${ATTN_ROWS}u) - 1u;
  var kEnd = S;
  if (causal) { kEnd = u32(clamp(i32(lastRow) + 1 + shift, 0, i32(S))); }
  ${perRow(
    R,
    (r) => `let ${n('t', r)} = wid.x * ${ATTN_ROWS}u + ${r * W}u + li;
  let ${n('qBase', r)} = pu(6u) + (bh * T + min(${n('t', r)}, T - 1u)) * D;
  var ${n('qr', r)}: array<f32, D>;
  var ${n('ar', r)}: array<f32, D>;
  ${headDimLoop(`${n('qr', r)}[d] = q[${n('qBase', r)} + d] * scale; ${n('ar', r)}[d] = 0.0;`)}
  var ${n('limit', r)} = S;
  if (causal) { ${n('limit', r)} = u32(clamp(i32(${n('t', r)}) + 1 + shift, 0, i32(S))); }
  var ${n('m', r)} = -inf_();
  var ${n('l', r)} = 0.0;`,
  )}
  ${oneRowKeyLoop(direct, U, W, (access) =>
    forwardStep({ ...access, R, ok: (u, r) => `k0 + j + ${u}u < ${n('limit', r)}` }),
  )}
  ${perRow(
    R,
    (r) => `if (${n('t', r)} < T) {
    let row = bh * T + ${n('t', r)};
    let inv = select(0.0, 1.0 / ${n('l', r)}, ${n('l', r)} > 0.0);
    let ob = row * D;
    ${headDimLoop(`o[ob + d] = ${n('ar', r)}[d] * inv;`)}
    lse[row] = select(-inf_(), ${n('m', r)} + log(${n('l', r)}), ${n('l', r)} > 0.0);
  }`,
  )}
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
export type AttentionVariant =
  | { kind: 'direct'; rows?: DirectRows }
  | { kind: 'tiled' }
  | ({ kind: 'lanes' } & LaneReduce);

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
  if (v.kind === 'direct') return `direct${directRows(v)}`;
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
    const rows = directRows(variant);
    const p = rt.pipeline(`attn:fwd:${D}:${attentionVariantKey(variant)}`, () => FORWARD(D, direct, rows));
    rt.dispatch(p, storages, params, [Math.ceil(T / ATTN_ROWS), B * Hq, 1]);
  }
  freeAll(rt, temps);
  return { o, lse };
}
