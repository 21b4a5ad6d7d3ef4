/**
 * The block-weight matmul family (`x · Wᵀ` with W in F16 / BF16 / Q8_0 / Q4_0 / Q4_K / Q6_K): row strips for CPU
 * adapters and prefill, lane-along-K GEMVs for GPUs. Ids are stable: cache files and BENCHMARKS.md refer to them.
 *
 * @module
 */

import { ggmlByteSize } from '../../formats/ggml-types.js';
import { packBlockWords } from '../block-layout.js';
import {
  type BlockMatmulProblem,
  type BlockMatmulVariant,
  blockMatmul,
  defaultBlockMatmulVariant,
} from '../kernels/block-matmul.js';
import { random } from '../kernels/random.js';
import type { GpuStorage } from '../runtime.js';
import type { AdapterProfile } from './adapter.js';
import { bucket } from './families.js';
import type { KernelFamily } from './family.js';

/**
 * Variants: `s…` / `t8` one x row per invocation (decode), `m8` / `p…` several x rows sharing each decoded word
 * (prefill), `w1` / `g1` the GPU GEMVs (workgroup tree / subgroup reduction), `g8` the subgroup one with eight x rows.
 */
export const BLOCK_MATMUL_VARIANTS: Record<string, BlockMatmulVariant> = {
  s2: { kind: 'strip', wg: 32, rows: 2, xrows: 1 },
  s4: { kind: 'strip', wg: 16, rows: 4, xrows: 1 },
  s8: { kind: 'strip', wg: 16, rows: 8, xrows: 1 },
  t8: { kind: 'strip', wg: 8, rows: 8, xrows: 1 },
  m8: { kind: 'strip', wg: 64, rows: 1, xrows: 8 },
  p8: { kind: 'strip', wg: 8, rows: 8, xrows: 2 },
  p2: { kind: 'strip', wg: 16, rows: 8, xrows: 2 },
  w1: { kind: 'gemv', subgroups: false },
  g1: { kind: 'gemv', subgroups: true },
  g8: { kind: 'gemv', subgroups: true, xrows: 8 },
};

function idOf(v: BlockMatmulVariant): string {
  const id = Object.entries(BLOCK_MATMUL_VARIANTS).find(([, c]) => JSON.stringify(c) === JSON.stringify(v))?.[0];
  if (!id) throw new Error(`tune: block-matmul default ${JSON.stringify(v)} is not a registered variant`);
  return id;
}

/** Deterministic bytes for timing (values do not change the work a kernel does). */
function timingBytes(count: number): Uint8Array {
  const bytes = new Uint8Array(count);
  let s = 12345;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    bytes[i] = s >>> 24;
  }
  return bytes;
}

/** `x · Wᵀ` for a block weight. */
export const blockMatmulFamily: KernelFamily<BlockMatmulProblem> = {
  name: 'block-matmul',
  variants: BLOCK_MATMUL_VARIANTS,
  shapeClass: (p) => `${p.type}:m${bucket(p.M)}:n${bucket(p.N)}:k${bucket(p.K)}`,
  candidates(a: AdapterProfile, p: BlockMatmulProblem) {
    const def = this.fallback(a, p);
    const rest = a.cpu
      ? p.M === 1
        ? ['s8', 't8', 's4', 's2']
        : ['p2', 'p8', 't8', 's8']
      : p.M === 1
        ? [...(a.subgroups ? ['g1'] : []), 'w1', 's2']
        : [...(a.subgroups ? ['g8'] : []), 'm8', 'p2'];
    return [def, ...rest.filter((id) => id !== def)];
  },
  fallback: (a, p) => idOf(defaultBlockMatmulVariant(a.cpu, a.subgroups, p.M)),
  prepare(rt, p) {
    const x = random(rt, 'uniform', p.M * p.K, 7, 0);
    const words = packBlockWords(p.type, p.N, p.K, timingBytes(ggmlByteSize(p.type, p.N * p.K)));
    const w = rt.alloc('int32', words.length);
    rt.write(w, words);
    const view = { storage: x, shape: [p.M, p.K], strides: [p.K, 1], offset: 0 };
    const held: GpuStorage[] = [x, w];
    return {
      run: () => rt.free(blockMatmul(rt, view, w, p.type, p.N, p.K)),
      dispose: () => {
        for (const s of held) rt.free(s);
      },
    };
  },
};
