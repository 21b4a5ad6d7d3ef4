/**
 * The variant spaces the tuner searches: matmul (all operand layouts, batched; the lavapipe strip family, the
 * shared-memory tiled kernel, the double-buffered vec4 kernel, split-K for skinny products), one-row decode
 * (split-K GEMV, subgroup GEMV, one-row strips) and attention forward / backward (direct reads for CPU adapters,
 * workgroup-memory tiles for GPUs, lane groups folded by subgroups or workgroup memory) and the row kernels
 * (RMSNorm, softmax: rows per workgroup, subgroup folds). Ids are stable: cache files and BENCHMARKS.md refer to them.
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import { type AttentionProblem, type AttentionVariant, attention } from '../kernels/attention.js';
import { attentionBackward } from '../kernels/attention-backward.js';
import { crossEntropy } from '../kernels/cross-entropy.js';
import {
  type DecodeVariant,
  defaultDecodeVariant,
  type MatmulProblem,
  type MatmulVariant,
  matmul,
} from '../kernels/matmul.js';
import {
  defaultPartsRoute,
  linearParts,
  linearPartsInputGrad,
  linearPartsWeightGrad,
  type PartsProblem,
  type PartsRoute,
} from '../kernels/matmul-parts.js';
import { BROADCAST_STEPS } from '../kernels/matmul-strip-subgroup.js';
import { random } from '../kernels/random.js';
import { reduce } from '../kernels/reduce.js';
import { rmsNorm } from '../kernels/rms-norm.js';
import { DEFAULT_ROW_VARIANT, type RowProblem, type RowVariant } from '../kernels/row-variants.js';
import { softmax } from '../kernels/softmax.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import type { AdapterProfile } from './adapter.js';
import type { KernelFamily, PreparedProblem } from './family.js';

/** Smallest power of two ≥ n (size buckets of a shape class). */
export function bucket(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/** Matmul variants for M > 1. */
export const MATMUL_VARIANTS: Record<string, MatmulVariant> = {
  // Column strips: no workgroup memory, no barriers (lavapipe's winners, BENCHMARKS.md v18 / v19 / v16).
  s18: { kind: 'strip', strip: { wg: 16, rm: 8, rn: 8, rowsFirst: true } },
  s19: { kind: 'strip', strip: { wg: 8, rm: 8, rn: 8, rowsFirst: true } },
  s16: { kind: 'strip', strip: { wg: 32, rm: 8, rn: 8, rowsFirst: true } },
  // Strips whose A rows reach the lanes by subgroup broadcast (taller: 32 or 24 rows × 4 columns per invocation).
  b32: { kind: 'strip-subgroup', strip: { wg: 8, rm: 32, rn: 4 } },
  b24: { kind: 'strip-subgroup', strip: { wg: 8, rm: 24, rn: 4 } },
  // 16 rows × 8 columns: a serving step's 9–16 rows fill it, where b24 / b32 compute 8–16 rows of clamped copies
  // (lavapipe, [16, 288]·[288, 32000]ᵀ: 0.69× b24's time; BENCHMARKS.md, issue 15).
  b16: { kind: 'strip-subgroup', strip: { wg: 8, rm: 16, rn: 8 } },
  // b16, b24 or b32, whichever costs least for the product's M: a serving step's rows vary within a shape class (m32
  // holds 17–32), and a class tuned at 17–24 rows kept b24, which computes 48 rows for a mixed step of 31. Costs per
  // computed row against b32 on lavapipe: b16 1.08–1.16, b24 1.12–1.19 (M 16, N 768 / 32000; 1024²: 1.14, 1.10);
  // BENCHMARKS.md, issue 15, lvp2.
  bf: {
    kind: 'strip-subgroup-fit',
    heights: [
      { strip: { wg: 8, rm: 16, rn: 8 }, rowCost: 1.12 },
      { strip: { wg: 8, rm: 24, rn: 4 }, rowCost: 1.12 },
      { strip: { wg: 8, rm: 32, rn: 4 }, rowCost: 1 },
    ],
  },
  // The single-buffered shared-memory kernel (17.4 TFLOP/s at 2048² on an H200, GPU.md).
  t1: { kind: 'tiled', tile: { tm: 64, tn: 64, tk: 16, rm: 4, rn: 8 } },
  // Double-buffered, vec4 loads where the layout allows.
  d1: { kind: 'tiled-v4', tile: { tm: 64, tn: 64, tk: 16, rm: 4, rn: 8 } },
  d2: { kind: 'tiled-v4', tile: { tm: 128, tn: 64, tk: 8, rm: 8, rn: 8 } },
  d3: { kind: 'tiled-v4', tile: { tm: 64, tn: 128, tk: 8, rm: 8, rn: 8 } },
  d4: { kind: 'tiled-v4', tile: { tm: 32, tn: 32, tk: 16, rm: 4, rn: 4 } },
  // Split-K over the double-buffered kernel, for products with few output tiles and a long K.
  k4: { kind: 'tiled-v4', tile: { tm: 32, tn: 32, tk: 16, rm: 4, rn: 4 }, splits: 4 },
  k16: { kind: 'tiled-v4', tile: { tm: 64, tn: 64, tk: 16, rm: 4, rn: 8 }, splits: 16 },
};

/** One-row (decode) variants. */
export const DECODE_VARIANTS: Record<string, DecodeVariant> = {
  g1: { kind: 'gemv' },
  g2: { kind: 'gemv-subgroup' },
  r1: { kind: 'strip', strip: { wg: 32, rm: 1, rn: 2 } },
  r2: { kind: 'strip', strip: { wg: 16, rm: 1, rn: 8 } },
  r3: { kind: 'strip', strip: { wg: 64, rm: 1, rn: 4 } },
};

/** Attention variants (the same ids for forward and backward). */
export const ATTENTION_VARIANTS: Record<string, AttentionVariant> = {
  // One invocation per row: K/V read straight from storage (CPU adapters' default) or staged in workgroup tiles.
  direct: { kind: 'direct' },
  // The same with one row per invocation: SwiftShader's default (the eight-row kernels outran the browser suite's
  // 120 s budget there, compiling), and the lavapipe form before issue 11's second pass.
  direct1: { kind: 'direct', rows: 1 },
  tiled: { kind: 'tiled' },
  // Several invocations per row splitting each tile's keys, folded through a workgroup-memory tree…
  w4: { kind: 'lanes', lanes: 4, subgroups: false },
  w8: { kind: 'lanes', lanes: 8, subgroups: false },
  w16: { kind: 'lanes', lanes: 16, subgroups: false },
  // …or through subgroup shuffles (adapters with `subgroups` whose smallest subgroup holds the lanes).
  g4: { kind: 'lanes', lanes: 4, subgroups: true },
  g8: { kind: 'lanes', lanes: 8, subgroups: true },
  g16: { kind: 'lanes', lanes: 16, subgroups: true },
};

/** Whether the adapter can run an attention variant: subgroup lanes need `subgroups` and a subgroup that holds them. */
export function attentionVariantFits(a: AdapterProfile, v: AttentionVariant): boolean {
  return v.kind !== 'lanes' || !v.subgroups || (a.subgroups && v.lanes <= (a.subgroupMinSize ?? 4));
}

/** The `direct` form a CPU adapter runs: eight rows per invocation, one on SwiftShader. */
function cpuDirect(a: AdapterProfile): string {
  return a.swiftShader ? 'direct1' : 'direct';
}

/** The attention variants timed on an adapter (default first). */
function attentionCandidates(a: AdapterProfile): string[] {
  const sg = Object.entries(ATTENTION_VARIANTS)
    .filter(([, v]) => v.kind === 'lanes' && v.subgroups && attentionVariantFits(a, v))
    .map(([id]) => id);
  // CPU adapters time the direct and tiled kernels only: lane groups there split one core's work across barriers.
  if (a.cpu) return [cpuDirect(a), 'tiled'];
  return ['tiled', 'w4', 'w8', 'w16', ...sg, 'direct'];
}

/** Whether a product has so few output tiles that splitting K is worth trying. */
function skinny(p: MatmulProblem): boolean {
  return Math.ceil(p.M / 64) * Math.ceil(p.N / 64) * p.batch < 32 && p.K >= 256;
}

/** Random operands laid out as the problem says (transposed layouts as swapped strides over a contiguous buffer). */
function operands(rt: Runtime, p: MatmulProblem): { a: View; b: View; held: GpuStorage[] } {
  const { M, N, K, batch } = p;
  const sa = random(rt, 'uniform', batch * M * K, 1, 0);
  const sb = random(rt, 'uniform', batch * K * N, 2, 0);
  const bs = batch > 1 ? [batch] : [];
  const a: View =
    p.la === 'mn'
      ? { storage: sa, shape: [...bs, M, K], strides: [...(batch > 1 ? [M * K] : []), 1, M], offset: 0 }
      : { storage: sa, shape: [...bs, M, K], strides: [...(batch > 1 ? [M * K] : []), K, 1], offset: 0 };
  const b: View =
    p.lb === 'k'
      ? { storage: sb, shape: [...bs, K, N], strides: [...(batch > 1 ? [K * N] : []), 1, K], offset: 0 }
      : { storage: sb, shape: [...bs, K, N], strides: [...(batch > 1 ? [K * N] : []), N, 1], offset: 0 };
  return { a, b, held: [sa, sb] };
}

function matmulPrepared(rt: Runtime, p: MatmulProblem): PreparedProblem {
  const { a, b, held } = operands(rt, p);
  const batchShape = p.batch > 1 ? [p.batch] : [];
  return {
    run: () => rt.free(matmul(rt, a, b, batchShape)),
    dispose: () => {
      for (const s of held) rt.free(s);
    },
  };
}

/** Whether the adapter runs the broadcast strips (`b…`): subgroups of at least 8 lanes. */
export function broadcastFits(a: AdapterProfile): boolean {
  return a.subgroups && (a.subgroupMinSize ?? 4) >= BROADCAST_STEPS;
}

/** Matmul with M > 1. */
export const matmulFamily: KernelFamily<MatmulProblem> = {
  name: 'matmul',
  variants: MATMUL_VARIANTS,
  shapeClass: (p) => `${p.la}${p.lb}:b${p.batch > 1 ? 1 : 0}:m${bucket(p.M)}:n${bucket(p.N)}:k${bucket(p.K)}`,
  candidates(a: AdapterProfile, p: MatmulProblem) {
    // CPU adapters time only the strips: the workgroup-memory kernels (d…, k…) lost every class there by 4–15×
    // (BENCHMARKS.md) and one run of them on a large product costs seconds of first-use time.
    // b24 and b32 run through `bf` (a cached b24 / b32 winner is no candidate, so its class takes the fallback).
    if (a.cpu) return [...(broadcastFits(a) ? ['bf', 'b16'] : []), 's18', 's19', 's16'];
    const split = skinny(p) ? ['k4', 'k16'] : [];
    return ['t1', 'd1', 'd2', 'd3', 'd4', 's18', ...split];
  },
  // CPU adapters: the broadcast strip where subgroups allow (1.4× less CPU time than s18 at 1024² NN, 2× NT on
  // lavapipe, BENCHMARKS.md 2026-12-05; b16 up to 16 rows, which it fills, then the fitted height), else s18. GPUs keep the tiled kernel
  // measured on the H200.
  fallback: (a, p) => (!a.cpu ? 't1' : !broadcastFits(a) ? 's18' : p.M <= 16 ? 'b16' : 'bf'),
  prepare: matmulPrepared,
};

/** Matmul with M = 1 (decode). */
export const decodeFamily: KernelFamily<MatmulProblem> = {
  name: 'matmul-decode',
  variants: DECODE_VARIANTS,
  shapeClass: (p) => `${p.lb}:b${p.batch > 1 ? 1 : 0}:n${bucket(p.N)}:k${bucket(p.K)}`,
  candidates(a: AdapterProfile, p: MatmulProblem) {
    const sg = a.subgroups && p.lb === 'k' ? ['g2'] : [];
    const def = this.fallback(a, p);
    return [def, ...['g1', ...sg, 'r1', 'r2', 'r3'].filter((id) => id !== def)];
  },
  fallback(a: AdapterProfile, p: MatmulProblem) {
    const d = defaultDecodeVariant(a.cpu, p.lb);
    return d.kind === 'gemv' ? 'g1' : d.kind === 'strip' && d.strip.rn === 8 ? 'r2' : 'r1';
  },
  prepare: matmulPrepared,
};

function attentionInputs(rt: Runtime, p: AttentionProblem): { q: View; k: View; v: View; held: GpuStorage[] } {
  const qs = random(rt, 'normal', p.B * p.Hq * p.T * p.D, 3, 0);
  const ks = random(rt, 'normal', p.B * p.Hkv * p.S * p.D, 4, 0);
  const vs = random(rt, 'normal', p.B * p.Hkv * p.S * p.D, 5, 0);
  const view = (s: GpuStorage, h: number, t: number): View => ({
    storage: s,
    shape: [p.B, h, t, p.D],
    strides: [h * t * p.D, t * p.D, p.D, 1],
    offset: 0,
  });
  return { q: view(qs, p.Hq, p.T), k: view(ks, p.Hkv, p.S), v: view(vs, p.Hkv, p.S), held: [qs, ks, vs] };
}

const attentionShapeClass = (p: AttentionProblem) =>
  `d${p.D}:g${p.Hq / p.Hkv}:t${bucket(p.T)}:s${bucket(p.S)}:${p.causal ? 'causal' : 'full'}`;

/** Fused attention forward. */
export const attentionFamily: KernelFamily<AttentionProblem> = {
  name: 'attention',
  variants: ATTENTION_VARIANTS,
  shapeClass: attentionShapeClass,
  candidates: attentionCandidates,
  fallback: (a) => (a.cpu ? cpuDirect(a) : 'tiled'),
  prepare(rt, p) {
    const { q, k, v, held } = attentionInputs(rt, p);
    const scale = 1 / Math.sqrt(p.D);
    return {
      run: () => {
        const r = attention(rt, q, k, v, scale, p.causal);
        rt.free(r.o);
        rt.free(r.lse);
      },
      dispose: () => {
        for (const s of held) rt.free(s);
      },
    };
  },
};

/** Fused attention backward (dq, dk, dv from a fixed forward). */
export const attentionBackwardFamily: KernelFamily<AttentionProblem> = {
  name: 'attention-backward',
  variants: ATTENTION_VARIANTS,
  shapeClass: attentionShapeClass,
  candidates: attentionCandidates,
  fallback: (a) => (a.cpu ? cpuDirect(a) : 'tiled'),
  prepare(rt, p) {
    const { q, k, v, held } = attentionInputs(rt, p);
    const scale = 1 / Math.sqrt(p.D);
    const f = attention(rt, q, k, v, scale, p.causal);
    const o: View = { ...q, storage: f.o };
    const lse: View = { storage: f.lse, shape: [p.B, p.Hq, p.T], strides: [p.Hq * p.T, p.T, 1], offset: 0 };
    return {
      run: () => {
        const g = attentionBackward(rt, q, k, v, o, q, lse, scale, p.causal);
        rt.free(g.dq);
        rt.free(g.dk);
        rt.free(g.dv);
      },
      dispose: () => {
        for (const s of [...held, f.o, f.lse]) rt.free(s);
      },
    };
  },
};

/** Row-kernel variants (RMSNorm forward / dx / residual-add, softmax, cross-entropy): rows per workgroup and how lanes fold. */
export const ROW_VARIANTS: Record<string, RowVariant> = {
  // Workgroup-memory trees: today's one row per 128 invocations, a narrower workgroup, and 32 or 8 lanes per row.
  w128: DEFAULT_ROW_VARIANT,
  w64: { wg: 64, rows: 1, subgroups: false },
  w128x4: { wg: 128, rows: 4, subgroups: false },
  w128x16: { wg: 128, rows: 16, subgroups: false },
  // Subgroups: subgroupAdd over one row per workgroup, or shuffles over 8 / 4 lanes per row.
  g128: { wg: 128, rows: 1, subgroups: true },
  g128x16: { wg: 128, rows: 16, subgroups: true },
  g128x32: { wg: 128, rows: 32, subgroups: true },
};

/** Whether the adapter can run a row variant: shuffles need `subgroups` and a subgroup that holds a row's lanes. */
export function rowVariantFits(a: AdapterProfile, v: RowVariant): boolean {
  return !v.subgroups || (a.subgroups && (v.rows === 1 || v.wg / v.rows <= (a.subgroupMinSize ?? 4)));
}

/** Row kernels (RMSNorm, softmax, cross-entropy, last-axis sum / max / min) over [rows, cols]. */
export const rowsFamily: KernelFamily<RowProblem> = {
  name: 'rows',
  variants: ROW_VARIANTS,
  shapeClass: (p) => `${p.op}:r${bucket(p.rows)}:c${bucket(p.cols)}`,
  candidates(a, p) {
    const def = this.fallback(a, p);
    return [def, ...Object.keys(ROW_VARIANTS).filter((id) => id !== def && rowVariantFits(a, ROW_VARIANTS[id]!))];
  },
  // CPU adapters: 8 lanes per row, no barrier tree (BENCHMARKS.md, lavapipe: 18–75× faster than one row per 128
  // invocations on 288-wide rows, 3–6× on 4096-wide ones). GPUs keep one row per workgroup until tuned.
  fallback: (a) => (!a.cpu ? 'w128' : rowVariantFits(a, ROW_VARIANTS.g128x16!) ? 'g128x16' : 'w128x16'),
  prepare(rt, p) {
    const x = random(rt, 'normal', p.rows * p.cols, 6, 0);
    const w = random(rt, 'uniform', p.cols, 7, 0);
    const xv: View = { storage: x, shape: [p.rows, p.cols], strides: [p.cols, 1], offset: 0 };
    const wv: View = { storage: w, shape: [p.cols], strides: [1], offset: 0 };
    const t = rt.alloc('int32', p.rows);
    rt.write(
      t,
      Int32Array.from({ length: p.rows }, (_, i) => (i * 7919) % p.cols),
    );
    const tv: View = { storage: t, shape: [p.rows], strides: [1], offset: 0 };
    return {
      run: () => {
        if (p.op === 'softmax') rt.free(softmax(rt, xv, p.rows, p.cols, false));
        else if (p.op === 'sum' || p.op === 'max' || p.op === 'min') rt.free(reduce(rt, p.op, xv, [1]));
        else if (p.op === 'cross-entropy') {
          const r = crossEntropy(rt, xv, tv, -1);
          rt.free(r.loss);
          rt.free(r.lse);
        } else {
          const r = rmsNorm(rt, xv, wv, 1e-5);
          rt.free(r.y);
          rt.free(r.rstd);
        }
      },
      dispose: () => {
        for (const s of [x, w, t]) rt.free(s);
      },
    };
  },
};

/** The two routes of a grouped linear product (matmul-parts.ts). */
export const PARTS_VARIANTS: Record<string, PartsRoute> = { grouped: 'grouped', apart: 'apart' };

/** Random float32 operand views of row-major `[rows, cols]`, seeded per operand. */
function rowsOperand(rt: Runtime, rows: number, cols: number, seed: number): View {
  return { storage: random(rt, 'uniform', rows * cols, seed, 0), shape: [rows, cols], strides: [cols, 1], offset: 0 };
}

/** Grouped linear products (q/k/v, gate/up, residual epilogue; forward and both gradients): grouped or apart. */
export const partsFamily: KernelFamily<PartsProblem> = {
  name: 'linear-parts',
  variants: PARTS_VARIANTS,
  shapeClass: (p) =>
    `${p.kind}${p.residual ? '+r' : ''}:m${bucket(p.M)}:k${bucket(p.K)}:n${p.Ns.map(bucket).join(',')}`,
  candidates(a, p) {
    const def = this.fallback(a, p);
    // CPU adapters keep one-row products grouped untimed: they took 0.34× the time of separate ones on lavapipe
    // (BENCHMARKS.md), a gap its ~0.07 ms timer resolution cannot see at one row. From two rows both are timed:
    // with the broadcast strips, apart took 0.45–0.5× grouped's time at 16 rows (issue 15).
    if (a.cpu && p.M === 1) return [def];
    return [def, def === 'grouped' ? 'apart' : 'grouped'];
  },
  fallback: (a, p) => defaultPartsRoute(a.cpu, p, broadcastFits(a)),
  prepare(rt, p) {
    const x = rowsOperand(rt, p.M, p.K, 11);
    const ws = p.Ns.map((n, i) => rowsOperand(rt, n, p.K, 12 + i));
    const dys = p.Ns.map((n, i) => rowsOperand(rt, p.M, n, 16 + i));
    const residual = p.residual ? rowsOperand(rt, p.M, p.Ns[0]!, 20) : null;
    return {
      run: () => {
        if (p.kind === 'forward') rt.free(linearParts(rt, x, ws, residual));
        else if (p.kind === 'inputGrad') rt.free(linearPartsInputGrad(rt, dys, ws));
        else for (const g of linearPartsWeightGrad(rt, dys, x)) rt.free(g);
      },
      dispose: () => {
        for (const v of [x, ...ws, ...dys, ...(residual ? [residual] : [])]) rt.free(v.storage as GpuStorage);
      },
    };
  },
};

/** Every tunable family. */
export const KERNEL_FAMILIES: readonly KernelFamily[] = [
  matmulFamily,
  decodeFamily,
  attentionFamily,
  attentionBackwardFamily,
  rowsFamily,
  partsFamily,
] as KernelFamily[];
