/**
 * Batched matmul as a family: a register-tiled kernel for real products and a GEMV kernel for one-row decode.
 * Operands are strided views (a transposed operand is just swapped strides); the kernels are specialised on which
 * axis of each operand is unit-stride so tile loads walk memory in order, with no copies.
 *
 * @module
 */

import { isHalf, type View } from '../../backend/backend.js';
import { sizeOf } from '../../shape.js';
import { collapse } from '../layout.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { chooseVariant } from '../tuning/switchboard.js';
import {
  MATMUL_BINDINGS as BINDINGS,
  batchCode,
  F32_OPERANDS,
  type Layout,
  layoutOf,
  type OperandCode,
} from './matmul-code.js';
import { dispatchGemvSubgroup } from './matmul-gemv-subgroup.js';
import { halfOperands } from './matmul-half.js';
import {
  BROADCAST_STEPS,
  dispatchStripSubgroup,
  fittedStrip,
  type StripHeight,
  type StripSubgroupConfig,
  stripSubgroupPipeline,
} from './matmul-strip-subgroup.js';
import { dispatchTiledV4, type TileV4Config, vec4Ok } from './matmul-tiled-v4.js';

/** Register-tiling shape of the big-product kernel. */
export interface TileConfig {
  /** Output rows / cols per workgroup. */
  tm: number;
  tn: number;
  /** Depth of one shared-memory K slab. */
  tk: number;
  /** Output rows / cols per invocation. */
  rm: number;
  rn: number;
}

/**
 * Column-strip kernel shape: a workgroup of `wg` invocations owns `rm` whole rows (the same for every invocation, so
 * A loads are uniform broadcasts) and `wg · rn` columns, invocation i taking columns i, i + wg, … (adjacent lanes read
 * adjacent columns of B). No workgroup memory, no barriers: on SIMD-across-invocations CPUs (lavapipe) this wins.
 */
export interface StripConfig {
  wg: number;
  rm: number;
  rn: number;
  /** K-loop unroll factor (a scalar tail loop handles K mod ku). */
  ku?: number;
  /** Grid x walks row blocks (consecutive workgroups reuse one column block of B from cache). */
  rowsFirst?: boolean;
}

/**
 * Which big-product kernel runs: the shared-memory tiled one, the column-strip one, or the double-buffered vec4
 * kernel (optionally splitting K over `splits` workgroups, for skinny products).
 */
export type MatmulVariant =
  | { kind: 'tiled'; tile: TileConfig }
  | { kind: 'strip'; strip: StripConfig }
  | { kind: 'tiled-v4'; tile: TileV4Config; splits?: number }
  | { kind: 'strip-subgroup'; strip: StripSubgroupConfig }
  // The broadcast strip of `heights` that costs least for this product's M (`fittedStrip`).
  | { kind: 'strip-subgroup-fit'; heights: readonly StripHeight[] };

/** Variant for GPUs: shared-memory tiles, 64×64 per workgroup, 4×8 per invocation. */
export const GPU_VARIANT: MatmulVariant = { kind: 'tiled', tile: { tm: 64, tn: 64, tk: 16, rm: 4, rn: 8 } };
/** Variant for CPU adapters (lavapipe): the benchmark winner, ~3× the tiled kernel there (BENCHMARKS.md). */
export const CPU_VARIANT: MatmulVariant = { kind: 'strip', strip: { wg: 16, rm: 8, rn: 8, rowsFirst: true } };
/** Decode (one-row) strip used on CPU adapters when B is N-contiguous. */
const CPU_DECODE: DecodeVariant = { kind: 'strip', strip: { wg: 32, rm: 1, rn: 2 } };
/**
 * Decode strip used on CPU adapters when B is K-contiguous (`x · Wᵀ`, W stored [out, in]): each invocation walks its
 * own contiguous weight rows; 8 columns per invocation amortise the A loads (LM head 75 → 12 ms, BENCHMARKS.md).
 */
const CPU_DECODE_KC: DecodeVariant = { kind: 'strip', strip: { wg: 16, rm: 1, rn: 8 } };
/**
 * Strip shapes of products with a float16 / bfloat16 operand (decoded on load, f32 accumulation; no workgroup
 * memory): the CPU-adapter K-contiguous decode strip for one row (either layout of B: it indexes by strides), the
 * CPU-adapter strip with 4 × 4 per invocation otherwise (fewer, smaller shaders to compile).
 */
const HALF_STRIPS = {
  decode: { wg: 16, rm: 1, rn: 8 },
  rows: { wg: 16, rm: 4, rn: 4, rowsFirst: true },
} satisfies Record<string, StripConfig>;
/** One-row products: the split-K GEMV, its subgroup form (K-contiguous B only), or a strip kernel with one row. */
export type DecodeVariant = { kind: 'gemv' } | { kind: 'gemv-subgroup' } | { kind: 'strip'; strip: StripConfig };

/** The problem the switchboard classifies: sizes and operand layouts of one (batched) product. */
export interface MatmulProblem {
  M: number;
  N: number;
  K: number;
  batch: number;
  la: Layout;
  lb: Layout;
}

/** Per-adapter default for products with M > 1 (`ANDES_TUNE=off`, or before a shape class is tuned). */
export function defaultMatmulVariant(cpuAdapter: boolean): MatmulVariant {
  return cpuAdapter ? CPU_VARIANT : GPU_VARIANT;
}

/** Per-adapter default for one-row products. */
export function defaultDecodeVariant(cpuAdapter: boolean, lb: Layout): DecodeVariant {
  // On CPU adapters a one-row strip beats the split-K GEMV for every B layout (BENCHMARKS.md): the GEMV's
  // workgroup-memory reduction and barriers cost more than the arithmetic there (6× slower on the LM head).
  if (cpuAdapter) return lb === 'k' ? CPU_DECODE_KC : CPU_DECODE;
  return { kind: 'gemv' };
}
let override: MatmulVariant | undefined;
let decodeOverride: DecodeVariant | undefined;
/** Overrides the kernel choice (benchmark variants); `undefined` restores the per-adapter default. */
export function setMatmulVariant(v: MatmulVariant | undefined, decode?: DecodeVariant): void {
  override = v;
  decodeOverride = decode;
}

/** a [...batch, M, K] · b [...batch, K, N] → contiguous [...batch, M, N]. */
export function matmul(rt: Runtime, a: View, b: View, batchShape: readonly number[]): GpuStorage {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = a.shape[ra - 2]!;
  const K = a.shape[ra - 1]!;
  const N = b.shape[rb - 1]!;
  const batch = sizeOf(batchShape);
  const out = rt.alloc('float32', batch * M * N);
  if (out.size === 0) return out;
  const nb = batchShape.length;
  const aBatch = a.strides.slice(ra - 2 - nb, ra - 2);
  const bBatch = b.strides.slice(rb - 2 - nb, rb - 2);
  const outBatch: number[] = [];
  let acc = M * N;
  for (let i = nb - 1; i >= 0; i--) {
    outBatch[i] = acc;
    acc *= batchShape[i]!;
  }
  const c = collapse(batchShape, [outBatch, aBatch, bBatch]);
  if (c.shape.length > 4) throw new Error(`webgpu.matmul: batch shape [${batchShape.join(', ')}] has > 4 dims`);
  if (batch > 65535) throw new Error(`webgpu.matmul: batch of ${batch} matrices exceeds 65535`);
  const sAm = a.strides[ra - 2]!;
  const sAk = a.strides[ra - 1]!;
  const sBk = b.strides[rb - 2]!;
  const sBn = b.strides[rb - 1]!;
  const params = [M, N, K, a.offset, b.offset, sAm, sAk, sBk, sBn, 0, 0, 0];
  for (let d = 0; d < 4; d++) params.push(c.shape[d] ?? 1, c.strides[1]![d] ?? 0, c.strides[2]![d] ?? 0, 0);
  // Zero-size K: the product is all zeros.
  if (K === 0) {
    rt.free(out);
    return fillZero(rt, batch * M * N);
  }
  const la = layoutOf(sAk, sAm);
  const lb = layoutOf(sBk, sBn);
  const br = c.shape.length;
  const storages = [out, a.storage as GpuStorage, b.storage as GpuStorage];
  const problem: MatmulProblem = { M, N, K, batch, la, lb };
  if (isHalf(a.storage.dtype) || isHalf(b.storage.dtype)) {
    const strip = M > 1 ? HALF_STRIPS.rows : HALF_STRIPS.decode;
    const ops = halfOperands(rt, a.storage.dtype, b.storage.dtype);
    // General-stride indexing ('g' layouts): the decode dominates the address arithmetic, and one pipeline per
    // (shape class, dtypes) instead of one per layout pair keeps shader compiles (seconds each on lavapipe) few.
    dispatchStrip(rt, strip, 'g', 'g', br, storages, params, M, N, batch, ops);
    return out;
  }
  if (M === 1) {
    let decode =
      decodeOverride ??
      chooseVariant<DecodeVariant>(rt, 'matmul-decode', problem) ??
      defaultDecodeVariant(rt.cpuAdapter, lb);
    // The subgroup GEMV needs the feature and a K-contiguous weight; anything else takes the plain GEMV.
    if (decode.kind === 'gemv-subgroup' && (lb !== 'k' || !rt.features.has('subgroups'))) decode = { kind: 'gemv' };
    if (decode.kind === 'strip') {
      dispatchStrip(rt, decode.strip, la, lb, br, storages, params, M, N, batch);
      return out;
    }
    if (decode.kind === 'gemv-subgroup') {
      dispatchGemvSubgroup(rt, br, storages, params, N, batch);
      return out;
    }
    const kc = lb === 'k';
    const p = rt.pipeline(`gemv:${kc}:${br}`, () => gemvCode(kc, br));
    rt.dispatch(p, storages, params, [Math.ceil(N / (kc ? 4 : 32)), 1, batch]);
    return out;
  }
  const variant =
    override ?? chooseVariant<MatmulVariant>(rt, 'matmul', problem) ?? defaultMatmulVariant(rt.cpuAdapter);
  if (variant.kind === 'tiled-v4') {
    const vec = {
      a: vec4Ok(la, la === 'k' ? K : M, a.offset, la === 'k' ? sAm : sAk, c.strides[1]!),
      b: vec4Ok(lb, lb === 'k' ? K : N, b.offset, lb === 'k' ? sBn : sBk, c.strides[2]!),
    };
    const [o, sa, sb] = storages as [GpuStorage, GpuStorage, GpuStorage];
    dispatchTiledV4(rt, variant.tile, variant.splits ?? 1, la, lb, vec, br, o, sa, sb, params, M, N, K, batch);
    return out;
  }
  if (variant.kind === 'strip-subgroup' || variant.kind === 'strip-subgroup-fit') {
    const strip = variant.kind === 'strip-subgroup' ? variant.strip : fittedStrip(variant.heights, M);
    // Without subgroups of ≥ 8 lanes the scalar strip of the same shape runs (same result, slower on lavapipe).
    if (rt.subgroupMinSize >= BROADCAST_STEPS) {
      // A fitted variant compiles every height the first time it runs: the height moves with M inside one shape
      // class, and a server's step must not compile one (80–300 ms on lavapipe) when its row count first reaches it.
      if (variant.kind === 'strip-subgroup-fit')
        for (const h of variant.heights) stripSubgroupPipeline(rt, h.strip, la, lb, br);
      dispatchStripSubgroup(rt, strip, la, lb, br, storages, params, M, N, batch);
    } else dispatchStrip(rt, { ...strip, rowsFirst: true }, la, lb, br, storages, params, M, N, batch);
    return out;
  }
  if (variant.kind === 'strip') {
    const c = variant.strip;
    dispatchStrip(rt, c, la, lb, br, storages, params, M, N, batch);
    return out;
  }
  const t = variant.tile;
  const p = rt.pipeline(`mm:${la}:${lb}:${br}:${t.tm}x${t.tn}x${t.tk}/${t.rm}x${t.rn}`, () => tiledCode(t, la, lb, br));
  rt.dispatch(p, storages, params, [Math.ceil(N / t.tn), Math.ceil(M / t.tm), batch]);
  return out;
}

function dispatchStrip(
  rt: Runtime,
  c: StripConfig,
  la: Layout,
  lb: Layout,
  br: number,
  storages: GpuStorage[],
  params: number[],
  M: number,
  N: number,
  batch: number,
  ops: OperandCode = F32_OPERANDS,
): void {
  const key = `mms:${la}:${lb}:${br}:${c.wg}/${c.rm}x${c.rn}/${c.ku ?? 1}/${!!c.rowsFirst}${ops.key}`;
  const p = rt.pipeline(key, () => stripCode(c, la, lb, br, ops));
  const cols = Math.ceil(N / (c.wg * c.rn));
  const rows = Math.ceil(M / c.rm);
  rt.dispatch(p, storages, params, c.rowsFirst ? [rows, cols, batch] : [cols, rows, batch]);
}

function fillZero(rt: Runtime, size: number): GpuStorage {
  const out = rt.alloc('float32', size);
  const p = rt.pipeline('mm:zero', () => ZERO);
  rt.dispatch(p, [out], [size], Math.ceil(size / 128));
  return out;
}

const ZERO = `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 128u + li;
  if (i < pu(0u)) { out[i] = 0.0; }
}`;

function gemvCode(kContiguous: boolean, batchRank: number): string {
  // 128 invocations = C columns × L lanes splitting K; lanes run along the unit-stride axis of B.
  const C = kContiguous ? 4 : 32;
  const L = 128 / C;
  const col = kContiguous ? 'li / 32u' : 'li % 32u';
  const lane = kContiguous ? 'li % 32u' : 'li / 32u';
  return `${BINDINGS}
var<workgroup> part: array<f32, 128>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let N = pu(1u); let K = pu(2u);
  let z = wid.z;
${batchCode(batchRank)}
  let sAk = pu(6u); let sBk = pu(7u); let sBn = pu(8u);
  let c = ${col};
  let lane = ${lane};
  let n = wid.x * ${C}u + c;
  var acc = 0.0;
  if (n < N) {
    let bn = bBase + n * sBn;
    for (var k = lane; k < K; k += ${L}u) {
      acc += A[aBase + k * sAk] * B[bn + k * sBk];
    }
  }
  part[li] = acc;
  workgroupBarrier();
  ${reduceLanes(kContiguous)}
  if (${lane} == 0u && n < N) { out[z * N + n] = part[li]; }
}`;
}

function reduceLanes(kContiguous: boolean): string {
  // Lanes of one column sit at stride 1 (K-contiguous) or stride 32 (N-contiguous) in `part`.
  if (kContiguous) {
    return `for (var s = 16u; s > 0u; s = s >> 1u) {
    if (lane < s) { part[li] = part[li] + part[li + s]; }
    workgroupBarrier();
  }`;
  }
  return `for (var s = 2u; s > 0u; s = s >> 1u) {
    if (lane < s) { part[li] = part[li] + part[li + s * 32u]; }
    workgroupBarrier();
  }`;
}

function tiledCode(t: TileConfig, la: Layout, lb: Layout, batchRank: number): string {
  const { tm, tn, tk, rm, rn } = t;
  const tx = tn / rn;
  const ty = tm / rm;
  const threads = tx * ty;
  if (threads > 128) throw new Error(`webgpu.matmul: tile ${tm}x${tn}/${rm}x${rn} needs ${threads} invocations`);
  const aLoads = (tm * tk) / threads;
  const bLoads = (tk * tn) / threads;
  // Tile-element index e → (row, k) of A: K-contiguous walks k fastest, otherwise m fastest.
  const aIdx = la === 'k' ? `let am = e / ${tk}u; let ak = e % ${tk}u;` : `let ak = e / ${tm}u; let am = e % ${tm}u;`;
  const bIdx = lb === 'k' ? `let bn = e / ${tk}u; let bk = e % ${tk}u;` : `let bk = e / ${tn}u; let bn = e % ${tn}u;`;
  const aAddr =
    la === 'k' ? 'aBase + gm * sAm + gk' : la === 'mn' ? 'aBase + gm + gk * sAk' : 'aBase + gm * sAm + gk * sAk';
  const bAddr =
    lb === 'mn' ? 'bBase + gk * sBk + gn' : lb === 'k' ? 'bBase + gk + gn * sBn' : 'bBase + gk * sBk + gn * sBn';
  return `${BINDINGS}
var<workgroup> As: array<f32, ${tk * tm}>;
var<workgroup> Bs: array<f32, ${tk * tn}>;
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let sAm = pu(5u); let sAk = pu(6u); let sBk = pu(7u); let sBn = pu(8u);
  let z = wid.z;
${batchCode(batchRank)}
  let m0 = wid.y * ${tm}u;
  let n0 = wid.x * ${tn}u;
  let tr = (li / ${tx}u) * ${rm}u;
  let tc = (li % ${tx}u) * ${rn}u;
  var acc: array<array<f32, ${rn}>, ${rm}>;
  for (var k0 = 0u; k0 < K; k0 += ${tk}u) {
    for (var i = 0u; i < ${aLoads}u; i++) {
      let e = li + i * ${threads}u;
      ${aIdx}
      let gm = m0 + am; let gk = k0 + ak;
      As[ak * ${tm}u + am] = select(0.0, A[${aAddr}], gm < M && gk < K);
    }
    for (var i = 0u; i < ${bLoads}u; i++) {
      let e = li + i * ${threads}u;
      ${bIdx}
      let gn = n0 + bn; let gk = k0 + bk;
      Bs[bk * ${tn}u + bn] = select(0.0, B[${bAddr}], gn < N && gk < K);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${tk}u; kk++) {
      var av: array<f32, ${rm}>;
      var bv: array<f32, ${rn}>;
      for (var r = 0u; r < ${rm}u; r++) { av[r] = As[kk * ${tm}u + tr + r]; }
      for (var c = 0u; c < ${rn}u; c++) { bv[c] = Bs[kk * ${tn}u + tc + c]; }
      for (var r = 0u; r < ${rm}u; r++) {
        for (var c = 0u; c < ${rn}u; c++) { acc[r][c] = fma(av[r], bv[c], acc[r][c]); }
      }
    }
    workgroupBarrier();
  }
  let outBase = z * M * N;
  for (var r = 0u; r < ${rm}u; r++) {
    let gm = m0 + tr + r;
    if (gm >= M) { break; }
    for (var c = 0u; c < ${rn}u; c++) {
      let gn = n0 + tc + c;
      if (gn < N) { out[outBase + gm * N + gn] = acc[r][c]; }
    }
  }
}`;
}

function stripCode(c: StripConfig, la: Layout, lb: Layout, batchRank: number, ops: OperandCode): string {
  const { wg, rm, rn } = c;
  const lines: string[] = [];
  const aIdx = (r: number) => (la === 'k' ? `ar${r} + k` : la === 'mn' ? `ar${r} + k * sAk` : `ar${r} + k * sAk`);
  const bIdx = (j: number) => (lb === 'mn' ? `k * sBk + bn${j}` : lb === 'k' ? `k + bn${j}` : `k * sBk + bn${j}`);
  for (let r = 0; r < rm; r++) {
    const rowOff = la === 'mn' ? `min(m0 + ${r}u, M - 1u)` : `min(m0 + ${r}u, M - 1u) * sAm`;
    lines.push(`  let ar${r} = aBase + ${rowOff};`);
  }
  for (let j = 0; j < rn; j++) {
    const colOff = lb === 'mn' ? `min(n0 + ${j * wg}u, N - 1u)` : `min(n0 + ${j * wg}u, N - 1u) * sBn`;
    lines.push(`  let bn${j} = bBase + ${colOff};`);
  }
  for (let r = 0; r < rm; r++) for (let j = 0; j < rn; j++) lines.push(`  var c${r}_${j} = 0.0;`);
  const step = (indent: string, kExpr: string) => {
    const ls: string[] = [`${indent}{ let k = ${kExpr};`];
    for (let r = 0; r < rm; r++) ls.push(`${indent}  let a${r} = ${ops.a(aIdx(r))};`);
    for (let j = 0; j < rn; j++) ls.push(`${indent}  let b${j} = ${ops.b(bIdx(j))};`);
    for (let r = 0; r < rm; r++)
      for (let j = 0; j < rn; j++) ls.push(`${indent}  c${r}_${j} = fma(a${r}, b${j}, c${r}_${j});`);
    ls.push(`${indent}}`);
    return ls.join('\n');
  };
  const ku = c.ku ?? 1;
  lines.push(`  let kMain = K - K % ${ku}u;`);
  lines.push(`  for (var k0 = 0u; k0 < kMain; k0 += ${ku}u) {`);
  for (let u = 0; u < ku; u++) lines.push(step('    ', `k0 + ${u}u`));
  lines.push('  }');
  lines.push('  for (var k0 = kMain; k0 < K; k0++) {');
  lines.push(step('    ', 'k0'));
  lines.push('  }');
  lines.push('  let ob = z * M * N;');
  for (let r = 0; r < rm; r++) {
    for (let j = 0; j < rn; j++) {
      lines.push(
        `  if (m0 + ${r}u < M && n0 + ${j * wg}u < N) { out[ob + (m0 + ${r}u) * N + n0 + ${j * wg}u] = c${r}_${j}; }`,
      );
    }
  }
  return `${ops.header}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let sAm = pu(5u); let sAk = pu(6u); let sBk = pu(7u); let sBn = pu(8u);
  let z = wid.z;
${batchCode(batchRank)}
  let m0 = wid.${c.rowsFirst ? 'x' : 'y'} * ${rm}u;
  let n0 = wid.${c.rowsFirst ? 'y' : 'x'} * ${wg * rn}u + li;
${lines.join('\n')}
}`;
}
