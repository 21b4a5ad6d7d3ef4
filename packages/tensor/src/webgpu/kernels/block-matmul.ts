/**
 * x · Wᵀ with W in a block format (f16, bf16, Q8_0, Q4_0, Q4_K, Q6_K) decoded inside the kernel, from the word
 * layout of `../block-layout.ts` (repacked at upload, still at the file's bits per weight). A family of variants:
 *
 * - **strip** (CPU adapters such as lavapipe, and prefill): one invocation per `rows` weight rows (`rows` apart by
 *   the workgroup size, so adjacent lanes take adjacent rows) and `xrows` rows of x; no workgroup memory, no
 *   barriers. x indices depend only on the workgroup and loop counters, so a SIMD-across-lanes compiler loads each x
 *   once per workgroup; every weight word is decoded once and used for `xrows` rows of x (the prefill GEMM).
 * - **gemv** (GPUs): one workgroup per weight row and `xrows` rows of x (1 for decode, 8 for prefill), lanes along K
 *   taking one unit (one word) at a time, so a warp reads adjacent words of a row; partial sums meet in a tree
 *   reduction or, with the `subgroups` feature, `subgroupAdd`.
 *
 * Half floats come through `unpack2x16float`, so no `shader-f16` feature is needed.
 *
 * @module
 */
import type { BlockType, View } from '../../backend/backend.js';
import { blockLayout, payloadWordsPerBlock } from '../block-layout.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { chooseVariant } from '../tuning/switchboard.js';
import { BLOCK_PARAMS, decodeHelpers, formatGeometry, groupCode } from './block-decode.js';
import { contiguousInput, freeAll, ROW_REDUCE } from './row.js';

/** A block-matmul kernel variant. */
export type BlockMatmulVariant =
  | { kind: 'strip'; wg: number; rows: number; xrows: number }
  | { kind: 'gemv'; subgroups: boolean; xrows?: number };

/** The problem the switchboard classifies. */
export interface BlockMatmulProblem {
  type: BlockType;
  M: number;
  N: number;
  K: number;
}

/** Per-adapter default (`ANDES_TUNE=off`, or before a shape class is tuned). */
export function defaultBlockMatmulVariant(cpuAdapter: boolean, subgroups: boolean, M: number): BlockMatmulVariant {
  // lavapipe: eight weight rows per invocation amortise each x load over eight rows; prefill adds a second x row per
  // decoded word (BENCHMARKS.md "Block-weight GEMV": s8 ~0.4× the CPU time of the f32 strip for Q4_0 decode).
  if (cpuAdapter) return { kind: 'strip', wg: 16, rows: 8, xrows: M === 1 ? 1 : 2 };
  // GPUs: lanes along K read adjacent words of one weight row; for prefill each decoded word serves 8 rows of x
  // (without subgroups the eight tree reductions cost too many barriers: the m8 strip instead).
  if (M === 1) return { kind: 'gemv', subgroups };
  return subgroups ? { kind: 'gemv', subgroups, xrows: 8 } : { kind: 'strip', wg: 64, rows: 1, xrows: 8 };
}

let override: BlockMatmulVariant | undefined;

/** Forces one variant (tests and benchmarks); `undefined` restores the switchboard / per-adapter choice. */
export function setBlockMatmulVariant(v: BlockMatmulVariant | undefined): void {
  override = v;
}

function stripCode(type: BlockType, v: { wg: number; rows: number; xrows: number }): string {
  const { units, span, elems } = formatGeometry(type);
  const payloadWords = payloadWordsPerBlock(type);
  const P = BLOCK_PARAMS;
  const L: string[] = [];
  for (let j = 0; j < v.rows; j++) L.push(`  let r${j} = min(rowBase + ${j * v.wg}u, n - 1u);`);
  for (let i = 0; i < v.xrows; i++) L.push(`  let xr${i} = pu(${P.xOffset}u) + min(m0 + ${i}u, m - 1u) * k;`);
  for (let j = 0; j < v.rows; j++) for (let i = 0; i < v.xrows; i++) L.push(`  var acc${j}_${i} = 0.0;`);
  L.push('  for (var b = 0u; b < nb; b++) {');
  for (let j = 0; j < v.rows; j++)
    L.push(`    let rb${j} = r${j} * nb + b; let pb${j} = r${j} * rw + b * ${payloadWords}u;`);
  for (let i = 0; i < v.xrows; i++) L.push(`    let xb${i} = xr${i} + b * ${elems}u;`);
  const spanUnits = (sp: string) => (span === 1 ? ['0u'] : { first: `${sp} * ${span}u`, count: span });
  if (units === span) L.push(groupCode(type, spanUnits('0u'), '0u', v.rows, v.xrows));
  else {
    L.push(`    for (var sp = 0u; sp < ${units / span}u; sp++) {`);
    L.push(groupCode(type, spanUnits('sp'), 'sp', v.rows, v.xrows));
    L.push('    }');
  }
  L.push('  }');
  L.push(halfTail(type, v.rows, v.xrows, (j) => `r${j}`));
  for (let j = 0; j < v.rows; j++)
    for (let i = 0; i < v.xrows; i++)
      L.push(
        `  if (rowBase + ${j * v.wg}u < n && m0 + ${i}u < m) { out[(m0 + ${i}u) * n + rowBase + ${j * v.wg}u] = acc${j}_${i}; }`,
      );
  return `${decodeHelpers()}
@compute @workgroup_size(${v.wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = pu(${P.n}u); let k = pu(${P.k}u); let m = pu(${P.m}u); let nb = pu(${P.blocks}u); let rw = pu(${P.rowWords}u);
  let m0 = wid.y * ${v.xrows}u;
  let rowBase = wid.x * ${v.wg * v.rows}u + li;
${L.join('\n')}
}`;
}

/** F16/BF16 rows of odd length: the last element is the low half of the row's last (padded) word. */
function halfTail(type: BlockType, rows: number, xrows: number, row: (j: number) => string): string {
  if (type !== 'F16' && type !== 'BF16') return '';
  const L = ['  if ((k & 1u) == 1u) {'];
  for (let j = 0; j < rows; j++) {
    const w = `W[${row(j)} * rw + nb]`;
    L.push(`    let t${j} = ${type === 'F16' ? `unpack2x16float(${w}).x` : `bitcast<f32>(${w} << 16u)`};`);
    for (let i = 0; i < xrows; i++) L.push(`    acc${j}_${i} = fma(t${j}, x[xr${i} + k - 1u], acc${j}_${i});`);
  }
  L.push('  }');
  return L.join('\n');
}

function gemvCode(type: BlockType, subgroups: boolean, xrows: number): string {
  const { units, span, elems } = formatGeometry(type);
  const payloadWords = payloadWordsPerBlock(type);
  const P = BLOCK_PARAMS;
  const wg = subgroups ? 64 : 128;
  const X = xrows;
  const L: string[] = [];
  for (let i = 0; i < X; i++) L.push(`  let xr${i} = pu(${P.xOffset}u) + min(m0 + ${i}u, m - 1u) * k;`);
  for (let i = 0; i < X; i++) L.push(`  var acc0_${i} = 0.0;`);
  const xbs = Array.from({ length: X }, (_, i) => `    let xb${i} = xr${i} + b * ${elems}u;`).join('\n');
  const reduce: string[] = [];
  if (subgroups) {
    // WGSL fixes no lane → subgroup mapping: subgroup leaders write their sums, invocation i < X adds them up.
    for (let i = 0; i < X; i++) {
      reduce.push(`  part[${i * wg}u + li] = select(0.0, subgroupAdd(acc0_${i}), sl == 0u);`);
    }
    reduce.push('  workgroupBarrier();');
    reduce.push(`  if (li < ${X}u && m0 + li < m) {
    var t = 0.0;
    for (var j = 0u; j < ${wg}u; j++) { t += part[li * ${wg}u + j]; }
    out[(m0 + li) * n + r0] = t;
  }`);
  } else {
    for (let i = 0; i < X; i++) {
      reduce.push(`  let s${i} = rowSum(acc0_${i}, li);`);
      reduce.push(`  if (li == 0u && m0 + ${i}u < m) { out[(m0 + ${i}u) * n + r0] = s${i}; }`);
    }
  }
  return `${subgroups ? 'enable subgroups;\n' : ''}${decodeHelpers()}
${subgroups ? `var<workgroup> part: array<f32, ${wg * X}>;` : ROW_REDUCE}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32${subgroups ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
  let n = pu(${P.n}u); let k = pu(${P.k}u); let m = pu(${P.m}u); let nb = pu(${P.blocks}u); let rw = pu(${P.rowWords}u);
  let o = wid.x + wid.y * nwg.x;
  if (o >= n * ((m + ${X - 1}u) / ${X}u)) { return; }
  let m0 = (o / n) * ${X}u;
  let r0 = o % n;
${L.join('\n')}
  for (var g = li; g < nb * ${units}u; g += ${wg}u) {
    let b = g / ${units}u;
    let u = g - b * ${units}u;
    let rb0 = r0 * nb + b; let pb0 = r0 * rw + b * ${payloadWords}u;
${xbs}
${groupCode(type, ['u'], `u / ${span}u`, 1, X)}
  }
  if (li == 0u) {
${halfTail(type, 1, X, () => 'r0')}
  }
${reduce.join('\n')}
}`;
}

/** out [m, n] = x [m, k] · Wᵀ with W [n, k] of `type` in the word layout of block-layout.ts (see Backend.blockMatmul). */
export function blockMatmul(
  rt: Runtime,
  x: View,
  weight: GpuStorage,
  type: BlockType,
  n: number,
  k: number,
): GpuStorage {
  const m = k === 0 ? 0 : x.shape.reduce((a, b) => a * b, 1) / k;
  const out = rt.alloc('float32', m * n);
  if (m * n === 0) return out;
  const temps: GpuStorage[] = [];
  const xv = contiguousInput(rt, x, temps);
  const subgroups = rt.features.has('subgroups');
  const problem: BlockMatmulProblem = { type, M: m, N: n, K: k };
  let v =
    override ??
    chooseVariant<BlockMatmulVariant>(rt, 'block-matmul', problem) ??
    defaultBlockMatmulVariant(rt.cpuAdapter, subgroups, m);
  if (v.kind === 'gemv' && v.subgroups && !subgroups) v = { ...v, subgroups: false };
  const layout = blockLayout(type, n, k);
  const params = [n, k, m, xv.offset, layout.blocks, layout.rowWords, layout.auxOffset, layout.halfOffset];
  const bindings = [out, xv.storage as GpuStorage, weight];
  if (v.kind === 'strip') {
    const s = v;
    const p = rt.pipeline(`blockMatmul:${type}:strip:${s.wg}/${s.rows}x${s.xrows}`, () => stripCode(type, s));
    rt.dispatch(p, bindings, params, [Math.ceil(n / (s.wg * s.rows)), Math.ceil(m / s.xrows), 1]);
  } else {
    const sg = v.subgroups;
    const xrows = v.xrows ?? 1;
    const p = rt.pipeline(`blockMatmul:${type}:gemv:${sg}:${xrows}`, () => gemvCode(type, sg, xrows));
    rt.dispatch(p, bindings, params, n * Math.ceil(m / xrows));
  }
  freeAll(rt, temps);
  return out;
}
