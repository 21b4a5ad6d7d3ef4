/**
 * The column-strip matmul kernel with A rows shared by subgroup broadcast, for CPU adapters with `subgroups`
 * (lavapipe under Node: subgroups of 8). As in the scalar strip (matmul.ts) a workgroup owns `rm` whole rows and
 * `wg · rn` columns, invocation i taking columns i, i + wg, …, with no workgroup memory and no barriers. The
 * difference is how the rows' A values reach the invocations: the scalar strip has every invocation load the same
 * word (`A[m, k]`, once per row per step of K); here each step of 8 along K, invocation l of a subgroup loads
 * `A[m, k0 + l]` (adjacent words across lanes) and `subgroupBroadcast(·, kk)` hands step kk's value to all lanes.
 *
 * On llvmpipe an invocation is one SIMD lane; a load whose address it cannot prove uniform runs once per lane, so the
 * scalar strip paid 8 lane loads per A word and got slower with more rows per invocation. With the broadcast, rows
 * are cheap and `rm` can grow to 24–32, which reuses each B load 3–4× more (BENCHMARKS.md, 2026-12-05).
 *
 * Needs `subgroups` and subgroups of at least {@link BROADCAST_STEPS} invocations (the broadcast reads lanes
 * 0…7); matmul.ts runs the scalar strip of the same shape otherwise. K mod 8 is a scalar tail.
 *
 * @module
 */

import type { GpuStorage, Runtime } from '../runtime.js';
import { batchCode, type Layout, MATMUL_BINDINGS } from './matmul-code.js';

/** Steps of K per broadcast round: the lanes 0…7 of a subgroup each load one. */
export const BROADCAST_STEPS = 8;

/** Shape of the broadcast strip: `wg` invocations, `rm` rows, `rn` columns per invocation (`rm · rn` sums each). */
export interface StripSubgroupConfig {
  wg: number;
  rm: number;
  rn: number;
}

/** A broadcast strip height offered to {@link fittedStrip}, with its measured cost per computed row. */
export interface StripHeight {
  strip: StripSubgroupConfig;
  /** Time per computed row relative to the other heights (the tallest, which reuses B most, is 1). */
  rowCost: number;
}

/**
 * Of `heights`, the strip with the least `ceil(M / rm) · rm · rowCost`: a strip computes whole blocks of `rm` rows,
 * the rows past M being clamped copies that cost as much as real ones, and shorter strips cost a little more per row
 * (they reuse each B load over fewer rows). A serving step's row count moves from step to step (15 decodes + 16
 * prompt rows is 31: b24 computes 48 rows for it, b32 32), so the height is picked per product rather than per tuned
 * shape class; with little padding at stake (M in the hundreds) the cheapest row wins. Ties go to the taller strip.
 */
export function fittedStrip(heights: readonly StripHeight[], M: number): StripSubgroupConfig {
  if (heights.length === 0) throw new Error('fittedStrip: no strip heights to choose from');
  const cost = (h: StripHeight) => Math.ceil(M / h.strip.rm) * h.strip.rm * h.rowCost;
  let best = heights[0]!;
  for (const h of heights.slice(1)) {
    if (cost(h) < cost(best) || (cost(h) === cost(best) && h.strip.rm > best.strip.rm)) best = h;
  }
  return best.strip;
}

/** The broadcast strip's pipeline for these layouts (compiled on first use, then cached by the runtime). */
export function stripSubgroupPipeline(
  rt: Runtime,
  c: StripSubgroupConfig,
  la: Layout,
  lb: Layout,
  br: number,
): GPUComputePipeline {
  return rt.pipeline(`mmsg:${la}:${lb}:${br}:${c.wg}/${c.rm}x${c.rn}`, () => stripSubgroupCode(c, lb, br));
}

/** Records the broadcast strip; the grid's x walks row blocks (consecutive workgroups share a column block of B). */
export function dispatchStripSubgroup(
  rt: Runtime,
  c: StripSubgroupConfig,
  la: Layout,
  lb: Layout,
  br: number,
  storages: GpuStorage[],
  params: number[],
  M: number,
  N: number,
  batch: number,
): void {
  const p = stripSubgroupPipeline(rt, c, la, lb, br);
  rt.dispatch(p, storages, params, [Math.ceil(M / c.rm), Math.ceil(N / (c.wg * c.rn)), batch]);
}

/** WGSL of the broadcast strip (A indexed through both strides, so every layout of A shares one shader). */
export function stripSubgroupCode(c: StripSubgroupConfig, lb: Layout, batchRank: number): string {
  const { wg, rm, rn } = c;
  const S = BROADCAST_STEPS;
  const L: string[] = [];
  // Rows and columns past M / N are computed from row M - 1 / column N - 1 and never stored.
  for (let r = 0; r < rm; r++) L.push(`  let ar${r} = aBase + min(m0 + ${r}u, M - 1u) * sAm;`);
  for (let j = 0; j < rn; j++) {
    const col = `min(n0 + ${j * wg}u, N - 1u)`;
    L.push(`  let bn${j} = bBase + ${lb === 'mn' ? col : `${col} * sBn`};`);
  }
  const bAt = (j: number, k: string) => (lb === 'k' ? `B[${k} + bn${j}]` : `B[(${k}) * sBk + bn${j}]`);
  for (let r = 0; r < rm; r++) for (let j = 0; j < rn; j++) L.push(`  var c${r}_${j} = 0.0;`);
  L.push(`  let kMain = K - K % ${S}u;`);
  L.push(`  for (var k0 = 0u; k0 < kMain; k0 += ${S}u) {`);
  // Lanes ≥ 8 of a wider subgroup load a clamped word nobody reads.
  L.push(`    let ka = min(k0 + sl, K - 1u) * sAk;`);
  for (let r = 0; r < rm; r++) L.push(`    let av${r} = A[ar${r} + ka];`);
  for (let kk = 0; kk < S; kk++) for (let j = 0; j < rn; j++) L.push(`    let b${kk}_${j} = ${bAt(j, `k0 + ${kk}u`)};`);
  // Each accumulator takes its 8 steps back to back: llvmpipe keeps rm · rn accumulators (one SIMD register each,
  // 128 for b32) on the stack, so this order loads and stores each once per 8 steps instead of once per step
  // (about 19 % less CPU time at 1024², same compile time; BENCHMARKS.md, "Lavapipe 1024²").
  for (let r = 0; r < rm; r++) {
    L.push('    {');
    for (let kk = 0; kk < S; kk++) L.push(`      let a${kk} = subgroupBroadcast(av${r}, ${kk}u);`);
    for (let j = 0; j < rn; j++)
      for (let kk = 0; kk < S; kk++) L.push(`      c${r}_${j} = fma(a${kk}, b${kk}_${j}, c${r}_${j});`);
    L.push('    }');
  }
  L.push('  }');
  L.push('  for (var k = kMain; k < K; k++) {');
  for (let j = 0; j < rn; j++) L.push(`    let b${j} = ${bAt(j, 'k')};`);
  for (let r = 0; r < rm; r++) {
    L.push(`    { let a = A[ar${r} + k * sAk];`);
    for (let j = 0; j < rn; j++) L.push(`      c${r}_${j} = fma(a, b${j}, c${r}_${j});`);
    L.push('    }');
  }
  L.push('  }');
  L.push('  let ob = z * M * N;');
  for (let r = 0; r < rm; r++)
    for (let j = 0; j < rn; j++) {
      const n = `n0 + ${j * wg}u`;
      L.push(`  if (m0 + ${r}u < M && ${n} < N) { out[ob + (m0 + ${r}u) * N + ${n}] = c${r}_${j}; }`);
    }
  return `enable subgroups;
${MATMUL_BINDINGS}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let sAm = pu(5u); let sAk = pu(6u); let sBk = pu(7u); let sBn = pu(8u);
  let z = wid.z;
${batchCode(batchRank)}
  let m0 = wid.x * ${rm}u;
  let n0 = wid.y * ${wg * rn}u + li;
${L.join('\n')}
}`;
}
