/**
 * Numbered matmul kernel variants on this adapter (Andes only): the winner becomes the default of its adapter kind,
 * GPU_VARIANT or CPU_VARIANT in src/webgpu/kernels/matmul.ts.
 *
 * @module
 */

import { type DecodeVariant, type MatmulVariant, setMatmulVariant } from '../src/webgpu/kernels/matmul.js';
import { MATMUL_VARIANTS } from '../src/webgpu/tuning/families.js';
import { type Bench, timeIt } from './harness.js';

/** Numbered variants (keep the numbering stable: BENCHMARKS.md refers to it). */
export const VARIANTS: Record<string, MatmulVariant> = {
  v1: { kind: 'tiled', tile: { tm: 64, tn: 64, tk: 16, rm: 4, rn: 8 } },
  v2: { kind: 'tiled', tile: { tm: 32, tn: 32, tk: 16, rm: 4, rn: 4 } },
  v3: { kind: 'strip', strip: { wg: 64, rm: 4, rn: 4 } },
  v4: { kind: 'strip', strip: { wg: 64, rm: 8, rn: 2 } },
  v5: { kind: 'strip', strip: { wg: 32, rm: 8, rn: 4 } },
  v6: { kind: 'strip', strip: { wg: 128, rm: 4, rn: 2 } },
  v7: { kind: 'strip', strip: { wg: 16, rm: 8, rn: 4 } },
  v8: { kind: 'strip', strip: { wg: 32, rm: 8, rn: 8 } },
  v9: { kind: 'strip', strip: { wg: 32, rm: 16, rn: 2 } },
  v10: { kind: 'strip', strip: { wg: 8, rm: 8, rn: 8 } },
  v11: { kind: 'strip', strip: { wg: 32, rm: 4, rn: 8 } },
  v12: { kind: 'strip', strip: { wg: 32, rm: 8, rn: 8, ku: 4 } },
  v13: { kind: 'strip', strip: { wg: 16, rm: 8, rn: 4, ku: 4 } },
  v14: { kind: 'strip', strip: { wg: 16, rm: 8, rn: 8, ku: 2 } },
  v15: { kind: 'strip', strip: { wg: 64, rm: 8, rn: 8, ku: 2 } },
  v16: { kind: 'strip', strip: { wg: 32, rm: 8, rn: 8, rowsFirst: true } },
  v17: { kind: 'strip', strip: { wg: 32, rm: 8, rn: 4, rowsFirst: true } },
  v18: { kind: 'strip', strip: { wg: 16, rm: 8, rn: 8, rowsFirst: true } },
  v19: { kind: 'strip', strip: { wg: 8, rm: 8, rn: 8, rowsFirst: true } },
  v20: { kind: 'strip', strip: { wg: 16, rm: 8, rn: 4, rowsFirst: true } },
  v21: { kind: 'strip', strip: { wg: 16, rm: 12, rn: 4, rowsFirst: true } },
  v22: { kind: 'strip', strip: { wg: 16, rm: 4, rn: 16, rowsFirst: true } },
  v23: { kind: 'strip', strip: { wg: 8, rm: 4, rn: 16, rowsFirst: true } },
  v24: { kind: 'strip', strip: { wg: 16, rm: 6, rn: 12, rowsFirst: true } },
  v25: { kind: 'strip', strip: { wg: 8, rm: 8, rn: 4, rowsFirst: true } },
  v26: { kind: 'strip', strip: { wg: 8, rm: 12, rn: 8, rowsFirst: true } },
  v27: { kind: 'strip', strip: { wg: 8, rm: 16, rn: 4, rowsFirst: true } },
  v28: { kind: 'strip', strip: { wg: 8, rm: 6, rn: 8, rowsFirst: true } },
  // The tuner's matmul family under its own ids (s…: strips, t1: tiled, d…: double-buffered vec4, k…: split-K).
  ...MATMUL_VARIANTS,
};

/** Prints GFLOP/s of every variant on square and transposed products. */
export async function runVariants(b: Bench, names = Object.keys(VARIANTS), sizes = [512, 1024]): Promise<void> {
  console.log('\n### matmul variants (GFLOP/s, Andes only)\n');
  console.log(`| variant | ${sizes.map((n) => `${n}² NN | ${n}² NT`).join(' | ')} |`);
  console.log(`|---|${sizes.map(() => '---:|---:').join('|')}|`);
  for (const name of names) {
    setMatmulVariant(VARIANTS[name]!);
    const cells: string[] = [];
    for (const n of sizes) {
      for (const bT of [false, true]) {
        const a = b.andes.random('uniform', n * n, 1, 0);
        const bb = b.andes.random('uniform', n * n, 2, 0);
        const A = { storage: a, shape: [n, n], strides: [n, 1], offset: 0 };
        const B = { storage: bb, shape: [n, n], strides: bT ? [1, n] : [n, 1], offset: 0 };
        const ms = await timeIt(
          () => b.andes.free(b.andes.matmul(A, B, [])),
          () => b.andes.sync(),
          { minMs: 200, trials: 3 },
        );
        cells.push(((2 * n * n * n) / ms / 1e6).toFixed(2));
        b.andes.free(a);
        b.andes.free(bb);
      }
    }
    console.log(`| ${name} ${JSON.stringify(VARIANTS[name])} | ${cells.join(' | ')} |`);
  }
}

/** Numbered one-row (decode) variants. */
export const DECODE_VARIANTS: Record<string, DecodeVariant> = {
  d1: { kind: 'gemv' },
  d2: { kind: 'strip', strip: { wg: 64, rm: 1, rn: 4 } },
  d3: { kind: 'strip', strip: { wg: 32, rm: 1, rn: 2 } },
  d4: { kind: 'strip', strip: { wg: 16, rm: 1, rn: 1 } },
};

/** Microseconds per decode product [1×d]·[d×d] (and with the weight stored [out, in]) for each decode variant. */
export async function runDecodeVariants(b: Bench, d = 768): Promise<void> {
  console.log(`\n### decode variants (µs per [1×${d}]·[${d}×${d}], Andes only)\n`);
  console.log('| variant | NN | NT (weight [out, in]) |');
  console.log('|---|---:|---:|');
  for (const [name, v] of Object.entries(DECODE_VARIANTS)) {
    setMatmulVariant(undefined, v);
    const cells: string[] = [];
    for (const bT of [false, true]) {
      const a = b.andes.random('uniform', d, 1, 0);
      const bb = b.andes.random('uniform', d * d, 2, 0);
      const A = { storage: a, shape: [1, d], strides: [d, 1], offset: 0 };
      const B = { storage: bb, shape: [d, d], strides: bT ? [1, d] : [d, 1], offset: 0 };
      const ms = await timeIt(
        () => b.andes.free(b.andes.matmul(A, B, [])),
        () => b.andes.sync(),
        { minMs: 200 },
      );
      cells.push((ms * 1000).toFixed(0));
      b.andes.free(a);
      b.andes.free(bb);
    }
    console.log(`| ${name} ${JSON.stringify(v)} | ${cells.join(' | ')} |`);
  }
  setMatmulVariant(undefined);
}
