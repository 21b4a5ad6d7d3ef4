/**
 * Several products of one layer in one dispatch (issue 11: fewer dispatches per layer), over separate weight buffers:
 * - `linearParts`: x · W_pᵀ for each weight W_p (q/k/v, gate/up) into one storage, part after part (each part a
 *   contiguous `[M, N_p]` block, so rope and reshape read it without a copy), optionally plus a residual (one part:
 *   `r + x · Wᵀ`, the o_proj / down_proj epilogue);
 * - `linearPartsInputGrad`: Σ_p dy_p · W_p, the input gradient of all parts in one pass;
 * - `linearPartsWeightGrad`: dy_pᵀ · x for every part, each into its own storage.
 *
 * Each is a column-strip kernel (the shape the lavapipe matmul family picked, matmul.ts): a workgroup owns `rm` rows
 * and `wg · rn` columns, no workgroup memory. Grouped products take their part from `workgroup_id.z`; one K loop
 * serves every part, a uniform branch per K step picking the part's buffers (bindings cannot be indexed). A separate
 * generator rather than a hook in matmul.ts: those kernels bind one A and one B, these bind up to three of each (at
 * most 7 storage buffers, within the compatibility level's 8). CPU adapters run them; GPUs compute the same products
 * apart through the tuned family (matmul-parts-apart.ts).
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { chooseVariant } from '../tuning/switchboard.js';
import { type Layout, layoutOf } from './matmul-code.js';
import {
  linearPartsApart,
  linearPartsInputGradApart,
  linearPartsWeightGradApart,
  transposedView,
} from './matmul-parts-apart.js';
import { BROADCAST_STEPS } from './matmul-strip-subgroup.js';

/** Invocations per workgroup and rows × columns per invocation of a parts kernel. */
interface PartsStrip {
  wg: number;
  rm: number;
  rn: number;
}

// Row-blocked strips as the lavapipe matmul family chose for M > 1 (8 × 8 per invocation) and one-row decode (1 × 8).
// CPU adapters run these kernels by default; GPUs take the tuned family per part (matmul-parts-apart.ts) unless the
// `linear-parts` tuning family times the grouped kernels faster for a shape class on the user's adapter.
const ROWS: PartsStrip = { wg: 16, rm: 8, rn: 8 };
const ONE_ROW: PartsStrip = { wg: 16, rm: 1, rn: 8 };

/**
 * Products of more than one part run grouped only up to this many rows (decode, small prefill chunks). The grouped
 * K loop branches per step to pick the part's buffers: that cost 7–16 % on 256-row training products on lavapipe
 * (training-step CPU time +6–7 % back to back), while one-row products ran in 0.34× the time of separate ones. One
 * part (the residual epilogue) has no branch and always runs grouped.
 */
export const GROUPED_MAX_ROWS = 64;

/** How a grouped product runs: one dispatch for every part, or one tuned matmul per part (matmul-parts-apart.ts). */
export type PartsRoute = 'grouped' | 'apart';

/** A grouped product as the `linear-parts` tuning family sees it (its shape class decides grouped or apart). */
export interface PartsProblem {
  /** `forward` ({@link linearParts}), `inputGrad` or `weightGrad`. */
  kind: 'forward' | 'inputGrad' | 'weightGrad';
  /** Rows of x (and of every dy). */
  M: number;
  /** Columns of x (and of dx). */
  K: number;
  /** Output columns of each part (of each dy for the gradients). */
  Ns: number[];
  /** The forward adds a residual (one part only). */
  residual: boolean;
}

/**
 * Rows from which a CPU adapter with the broadcast strips (matmul-strip-subgroup.ts) computes forward parts apart by
 * default, up to {@link GROUPED_MAX_ROWS}: apart took 0.45–0.5× the grouped kernels' time at 16 rows on lavapipe and
 * 0.75–1.0× at 4 and 8 (BENCHMARKS.md, issue 15); the grouped strips load each A word once per lane there.
 */
export const APART_MIN_ROWS = 4;

/**
 * The route without tuning: grouped on CPU adapters (more than one part only up to {@link GROUPED_MAX_ROWS} rows;
 * with `broadcastStrips`, forward products only below {@link APART_MIN_ROWS} rows or above {@link GROUPED_MAX_ROWS}
 * for one part),
 * apart on GPUs, where the tuner times both ways on first use of each shape class.
 */
export function defaultPartsRoute(cpuAdapter: boolean, p: PartsProblem, broadcastStrips = false): PartsRoute {
  const measured = p.kind === 'forward'; // the gradients were not timed apart at these sizes: they keep the old rule
  if (cpuAdapter && broadcastStrips && measured && p.M >= APART_MIN_ROWS && p.M <= GROUPED_MAX_ROWS) return 'apart';
  return cpuAdapter && (p.Ns.length === 1 || p.M <= GROUPED_MAX_ROWS) ? 'grouped' : 'apart';
}

function grouped(rt: Runtime, p: PartsProblem): boolean {
  const broadcast = rt.cpuAdapter && rt.subgroupMinSize >= BROADCAST_STEPS;
  const route = chooseVariant<PartsRoute>(rt, 'linear-parts', p) ?? defaultPartsRoute(rt.cpuAdapter, p, broadcast);
  return route === 'grouped';
}

/** One product `out_p [M, N] = A_p [M, K] · B_p [K, N]` of a dispatch; `out` is an element offset into its output. */
interface Product {
  a: View;
  b: View;
  M: number;
  N: number;
  K: number;
  out: number;
}

/** Binding names of each product's operands and output, and the layouts all products share (the pipeline key). */
interface PartsCode {
  a: string[];
  b: string[];
  out: string[];
  la: Layout;
  lb: Layout;
}

/**
 * Words 0–2: residual offset and strides, 4: products; product p at words 8 + 10p. Every kernel binds three parts
 * (unused ones repeat part 0's inputs) and reads the count from word 4: one pipeline per kind serves 1–3 parts, since
 * each costs seconds of compile on lavapipe. The residual stays a variant of its own: reading it in every kernel
 * doubled the forward's compile time.
 */
const HEADER_WORDS = 8;
const PRODUCT_WORDS = 10;
const PARTS = 3;

function productParams(p: Product): number[] {
  const [sAm, sAk] = p.a.strides as [number, number];
  const [sBk, sBn] = p.b.strides as [number, number];
  return [p.M, p.N, p.K, p.a.offset, sAm, sAk, p.b.offset, sBk, sBn, p.out];
}

/** The layout every view shares, else general strides. */
function sharedLayout(layouts: Layout[]): Layout {
  return layouts.every((l) => l === layouts[0]) ? layouts[0]! : 'g';
}

function codeOf(products: Product[], names: Omit<PartsCode, 'la' | 'lb'>): PartsCode {
  const la = sharedLayout(products.map((p) => layoutOf(p.a.strides[1]!, p.a.strides[0]!)));
  const lb = sharedLayout(products.map((p) => layoutOf(p.b.strides[0]!, p.b.strides[1]!)));
  return { ...names, la, lb };
}

/**
 * WGSL: `count` loads `<v><i> = <binding of part p>[<index(i)>]`. When the parts bind different buffers, one uniform
 * branch on p per K step selects the buffer for all the step's loads: a branch per load cost 1.6–1.8× the time of
 * separate products on lavapipe, and a copy of the whole K loop per part 4× the compile time (50 s cold for three
 * 8 × 8 parts).
 */
function loads(v: string, count: number, names: string[], index: (i: number) => string): string {
  const set = (n: string, decl: boolean) =>
    Array.from({ length: count }, (_, i) => `${decl ? 'let ' : ''}${v}${i} = ${n}[${index(i)}];`).join(' ');
  if (names.every((n) => n === names[0])) return `      ${set(names[0]!, true)}`;
  const declare = Array.from({ length: count }, (_, i) => `var ${v}${i}: f32;`).join(' ');
  const cases = names.slice(0, -1).map((n, p) => `if (p == ${p}u) { ${set(n, false)} }`);
  return `      ${declare}\n      ${cases.join(' else ')} else { ${set(names.at(-1)!, false)} }`;
}

/** WGSL: `fn st(p, i, v)` writing v to element i of product p's output. */
function storeFn(names: string[]): string {
  if (names.every((n) => n === names[0])) return `fn st(p: u32, i: u32, v: f32) { ${names[0]}[i] = v; }`;
  const cases = names.slice(0, -1).map((n, p) => `if (p == ${p}u) { ${n}[i] = v; }`);
  return `fn st(p: u32, i: u32, v: f32) { ${cases.join(' else ')} else { ${names.at(-1)}[i] = v; } }`;
}

/** WGSL: product p's strides (word base `w`), then its K loop accumulating into c<r>_<j>. */
function kLoop(s: PartsStrip, c: PartsCode): string {
  const lines = [
    '    let K = pu(w + 2u);',
    '    let sAm = pu(w + 4u); let sAk = pu(w + 5u); let sBk = pu(w + 7u); let sBn = pu(w + 8u);',
  ];
  for (let r = 0; r < s.rm; r++) {
    const row = `min(m0 + ${r}u, M - 1u)`;
    lines.push(`    let ar${r} = pu(w + 3u) + ${c.la === 'mn' ? row : `${row} * sAm`};`);
  }
  for (let j = 0; j < s.rn; j++) {
    const col = `min(n0 + ${j * s.wg}u, N - 1u)`;
    lines.push(`    let bn${j} = pu(w + 6u) + ${c.lb === 'mn' ? col : `${col} * sBn`};`);
  }
  lines.push('    for (var k = 0u; k < K; k++) {');
  lines.push(loads('a', s.rm, c.a, (r) => `ar${r} + ${c.la === 'k' ? 'k' : 'k * sAk'}`));
  lines.push(loads('b', s.rn, c.b, (j) => `bn${j} + ${c.lb === 'k' ? 'k' : 'k * sBk'}`));
  for (let r = 0; r < s.rm; r++) {
    for (let j = 0; j < s.rn; j++) lines.push(`      c${r}_${j} = fma(a${r}, b${j}, c${r}_${j});`);
  }
  lines.push('    }');
  return lines.join('\n');
}

/** WGSL: the accumulators, zeroed. */
function accumulators(s: PartsStrip): string {
  const lines: string[] = [];
  for (let r = 0; r < s.rm; r++) for (let j = 0; j < s.rn; j++) lines.push(`  var c${r}_${j} = 0.0;`);
  return lines.join('\n');
}

/** WGSL: stores the accumulators into product p's output block, plus the residual when bound. */
function stores(s: PartsStrip, residual: boolean): string {
  const lines = ['  let ob = pu(w + 9u);'];
  for (let r = 0; r < s.rm; r++) {
    for (let j = 0; j < s.rn; j++) {
      const m = `m0 + ${r}u`;
      const n = `n0 + ${j * s.wg}u`;
      // The epilogue: r + x·Wᵀ without a second pass over the output (words 0–2: offset, row and column stride).
      const value = residual ? `c${r}_${j} + R[pu(0u) + (${m}) * pu(1u) + (${n}) * pu(2u)]` : `c${r}_${j}`;
      lines.push(`  if (${m} < M && ${n} < N) { st(p, ob + (${m}) * N + ${n}, ${value}); }`);
    }
  }
  return lines.join('\n');
}

/**
 * The kernel: `grouped` runs product `workgroup_id.z` into its own output block; otherwise every product adds into
 * the same accumulators (Σ_p A_p · B_p over products sharing M, N and the output).
 */
function partsCode(s: PartsStrip, grouped: boolean, c: PartsCode, bindings: string[], residual: boolean): string {
  const decl = bindings.map((name, i) => {
    const access = c.out.includes(name) ? 'read_write' : 'read';
    return `@group(0) @binding(${i + 1}) var<storage, ${access}> ${name}: array<f32>;`;
  });
  if (residual) decl.push(`@group(0) @binding(${bindings.length + 1}) var<storage, read> R: array<f32>;`);
  const head = `  let M = pu(w); let N = pu(w + 1u);
  if (m0 >= M || n0 >= N) { return; }
${accumulators(s)}`;
  const body = grouped
    ? `  let p = wid.z;\n  let w = ${HEADER_WORDS}u + ${PRODUCT_WORDS}u * p;\n${head}\n  {\n${kLoop(s, c)}\n  }`
    : `  let w = ${HEADER_WORDS}u;\n  let p = 0u;\n${head}
  for (var q = 0u; q < pu(4u); q++) {
    let p = q;
    let w = ${HEADER_WORDS}u + ${PRODUCT_WORDS}u * q;
${kLoop(s, c)}
  }`;
  return `${decl.join('\n')}
${storeFn(c.out)}
@compute @workgroup_size(${s.wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wid.x * ${s.rm}u;
  let n0 = wid.y * ${s.wg * s.rn}u + li;
${body}
${stores(s, residual)}
}`;
}

/** Views padded to three parts by repeating the first (their products are never computed). */
function padded(views: readonly View[]): View[] {
  return Array.from({ length: PARTS }, (_, i) => views[i] ?? views[0]!);
}

function dispatchProducts(
  rt: Runtime,
  grouped: boolean,
  products: Product[],
  names: Omit<PartsCode, 'la' | 'lb'>,
  storages: { name: string; storage: GpuStorage }[],
  residual: View | null,
): void {
  const M = Math.max(...products.map((p) => p.M));
  const N = Math.max(...products.map((p) => p.N));
  if (M === 0 || N === 0) return;
  const s = M > 1 ? ROWS : ONE_ROW;
  const c = codeOf(products, names);
  const bindings = storages.map((b) => b.name);
  const key = `mmparts:${grouped}:${s.wg}/${s.rm}x${s.rn}:${residual !== null}:${c.la}${c.lb}:${c.a}|${c.b}|${c.out}`;
  const pipeline = rt.pipeline(key, () => partsCode(s, grouped, c, bindings, residual !== null));
  const r = residual ? [residual.offset, residual.strides[0]!, residual.strides[1]!, 1] : [0, 0, 0, 0];
  const params = [...r, products.length, 0, 0, 0];
  for (const p of products) params.push(...productParams(p));
  const bound = storages.map((b) => b.storage);
  if (residual) bound.push(residual.storage as GpuStorage);
  const grid = [Math.ceil(M / s.rm), Math.ceil(N / (s.wg * s.rn)), grouped ? products.length : 1] as const;
  rt.dispatch(pipeline, bound, params, grid);
}

/**
 * x `[M, K]` · W_pᵀ for each weight `[N_p, K]` → one storage of Σ M·N_p elements, part p a row-major `[M, N_p]` block
 * after the earlier parts; with `residual` `[M, N]` (one weight only) the block is `residual + x · Wᵀ`.
 */
export function linearParts(rt: Runtime, x: View, weights: readonly View[], residual: View | null): GpuStorage {
  const [M, K] = x.shape as [number, number];
  const Ns = weights.map((w) => w.shape[0]!);
  if (!grouped(rt, { kind: 'forward', M, K, Ns, residual: residual !== null })) {
    return linearPartsApart(rt, x, weights, residual);
  }
  let total = 0;
  const products: Product[] = weights.map((w) => {
    const p = { a: x, b: transposedView(w), M, N: w.shape[0]!, K, out: total };
    total += M * p.N;
    return p;
  });
  const out = rt.alloc('float32', total);
  const names = { a: ['X', 'X', 'X'], b: ['W0', 'W1', 'W2'], out: ['Y', 'Y', 'Y'] };
  const storages = [
    { name: 'Y', storage: out },
    { name: 'X', storage: x.storage as GpuStorage },
    ...padded(weights).map((w, i) => ({ name: `W${i}`, storage: w.storage as GpuStorage })),
  ];
  dispatchProducts(rt, true, products, names, storages, residual);
  return out;
}

/** Σ_p dy_p `[M, N_p]` · W_p `[N_p, K]` → `[M, K]`: the input gradient of {@link linearParts}, one dispatch. */
export function linearPartsInputGrad(rt: Runtime, dys: readonly View[], weights: readonly View[]): GpuStorage {
  const M = dys[0]!.shape[0]!;
  const K = weights[0]!.shape[1]!;
  const Ns = dys.map((dy) => dy.shape[1]!);
  if (!grouped(rt, { kind: 'inputGrad', M, K, Ns, residual: false })) {
    return linearPartsInputGradApart(rt, dys, weights);
  }
  const out = rt.alloc('float32', M * K);
  const products: Product[] = dys.map((dy, i) => ({ a: dy, b: weights[i]!, M, N: K, K: dy.shape[1]!, out: 0 }));
  const names = { a: ['G0', 'G1', 'G2'], b: ['W0', 'W1', 'W2'], out: ['DX', 'DX', 'DX'] };
  const storages = [
    { name: 'DX', storage: out },
    ...padded(dys).map((d, i) => ({ name: `G${i}`, storage: d.storage as GpuStorage })),
    ...padded(weights).map((w, i) => ({ name: `W${i}`, storage: w.storage as GpuStorage })),
  ];
  dispatchProducts(rt, false, products, names, storages, null);
  return out;
}

/** dy_pᵀ · x for each dy_p `[M, N_p]` and x `[M, K]` → one `[N_p, K]` storage per part, in one dispatch. */
export function linearPartsWeightGrad(rt: Runtime, dys: readonly View[], x: View): GpuStorage[] {
  const [M, K] = x.shape as [number, number];
  const Ns = dys.map((dy) => dy.shape[1]!);
  if (!grouped(rt, { kind: 'weightGrad', M, K, Ns, residual: false })) return linearPartsWeightGradApart(rt, dys, x);
  const outs = dys.map((dy) => rt.alloc('float32', dy.shape[1]! * K));
  const products: Product[] = dys.map((dy) => ({ a: transposedView(dy), b: x, M: dy.shape[1]!, N: K, K: M, out: 0 }));
  const names = { a: ['G0', 'G1', 'G2'], b: ['X', 'X', 'X'], out: ['DW0', 'DW1', 'DW2'] };
  // Writable bindings may not alias: unused output slots get one-element placeholders.
  const spare = Array.from({ length: PARTS - outs.length }, () => rt.alloc('float32', 1));
  const storages = [
    ...[...outs, ...spare].map((o, i) => ({ name: `DW${i}`, storage: o })),
    ...padded(dys).map((d, i) => ({ name: `G${i}`, storage: d.storage as GpuStorage })),
    { name: 'X', storage: x.storage as GpuStorage },
  ];
  dispatchProducts(rt, true, products, names, storages, null);
  for (const t of spare) rt.free(t);
  return outs;
}
