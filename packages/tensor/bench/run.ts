/**
 * `npm run bench -w @andes/tensor`: Andes WebGPU kernels vs tfjs-webgpu on the same Dawn adapter.
 * Usage: node bench/out/bench/run.js [matmul|attention|train|variants|attention-variants|rows|grouped]… (default: all
 * but variants, rows, grouped).
 *
 * @module
 */

import os from 'node:os';
import { setAttentionVariant } from '../src/webgpu/kernels/attention.js';
import { setRowVariant } from '../src/webgpu/kernels/row-variants.js';
import { ATTENTION_VARIANTS, ROW_VARIANTS } from '../src/webgpu/tuning/families.js';
import { attentionRows, attentionVariantRows } from './attention.bench.js';
import { groupedLinearRows } from './grouped-linear.bench.js';
import { type Row, setup } from './harness.js';
import { matmulRow } from './matmul.bench.js';
import { rowVariantRows } from './rows.bench.js';
import { trainRow } from './train.bench.js';
import { runDecodeVariants, runVariants } from './variants.bench.js';

const which = new Set(process.argv.slice(2));
const all = which.size === 0;
const b = await setup();
console.log(
  `adapter: ${b.adapter}; CPU: ${os.cpus().length}× ${os.cpus()[0]?.model}; load: ${os.loadavg()[0]!.toFixed(2)}; ` +
    `kernel tuning: ${process.env.ANDES_TUNE ?? 'on'} (ANDES_TUNE)`,
);

if (all || which.has('matmul')) {
  const rows: Row[] = [];
  // ROWS=1024,MLP keeps only the rows whose name contains one of the words.
  const keep = (name: string) => !process.env.ROWS || process.env.ROWS.split(',').some((w) => name.includes(w));
  const row = async (M: number, K: number, N: number, name: string, bT = false) => {
    if (keep(name)) rows.push(await matmulRow(b, M, K, N, name, bT));
  };
  for (const n of [256, 512, 1024, 2048]) await row(n, n, n, `square ${n}`);
  for (const d of [512, 768]) {
    await row(256, d, 4 * d, `[256×${d}]·[${d}×${4 * d}] (MLP up)`);
    await row(1, d, d, `decode [1×${d}]·[${d}×${d}]`);
    await row(1, d, d, `decode [1×${d}]·[${d}×${d}]ᵀ (weight [out, in])`, true);
  }
  const { printTable } = await import('./harness.js');
  printTable('matmul', 'GFLOP/s', rows);
}
// ATTN_VARIANT=<id> (families.ts: direct, tiled, w8, g8, …) pins the attention variant instead of the default.
if (process.env.ATTN_VARIANT) setAttentionVariant(ATTENTION_VARIANTS[process.env.ATTN_VARIANT]);
// ROW_VARIANT=<id> (w128, g128x16, …) pins the RMSNorm / softmax / cross-entropy row kernels (w128: before issue 11).
if (process.env.ROW_VARIANT) setRowVariant(ROW_VARIANTS[process.env.ROW_VARIANT]);
if (all || which.has('attention')) await attentionRows(b, (process.env.LENGTHS ?? '256,1024').split(',').map(Number));
if (all || which.has('train')) await trainRow(b);
if (which.has('rows')) await rowVariantRows(b);
if (which.has('attention-variants')) {
  await attentionVariantRows(b, (process.env.LENGTHS ?? '256,1024').split(',').map(Number));
}
if (which.has('variants')) {
  await runVariants(b, process.env.VARIANTS?.split(','), (process.env.SIZES ?? '512').split(',').map(Number));
}
if (which.has('decode-variants')) await runDecodeVariants(b);
if (which.has('grouped')) await groupedLinearRows(b);
b.andes.destroy();
process.exit(0);
