/**
 * Matmul rows: square products, LLaMA-shaped prefill/training products and one-row decode, GFLOP/s side by side
 * with tfjs-webgpu on the same adapter.
 *
 * @module
 */

import type { View } from '../src/backend/backend.js';
import { type Bench, type Row, timeSideBySide } from './harness.js';

function view(b: Bench, shape: number[], transposed = false): View {
  const [r, c] = shape as [number, number];
  const s = b.andes.random('uniform', r * c, 1, 0);
  return transposed
    ? { storage: s, shape: [r, c], strides: [1, r], offset: 0 }
    : { storage: s, shape: [r, c], strides: [c, 1], offset: 0 };
}

/** GFLOP/s of Andes and tfjs for [M×K]·[K×N] (b transposed: b is stored [N, K] and read through strides). */
export async function matmulRow(b: Bench, M: number, K: number, N: number, name: string, bT = false): Promise<Row> {
  const flop = 2 * M * N * K;
  const A = view(b, [M, K]);
  const B = view(b, [K, N], bT);
  const tf = b.tf;
  const ta = tf.randomUniform([M, K]);
  const tb = bT ? tf.randomUniform([N, K]) : tf.randomUniform([K, N]);
  // Five interleaved trials: both sides' medians come from the same minutes of a shared machine's load.
  const [andes, tfjs] = (await timeSideBySide(
    [
      { run: () => b.andes.free(b.andes.matmul(A, B, [])), sync: () => b.andes.sync() },
      { run: () => tf.matMul(ta, tb, false, bT).dispose(), sync: () => b.tfSync() },
    ],
    { trials: 5 },
  )) as [{ ms: number; cpuMs: number }, { ms: number; cpuMs: number }];
  b.andes.free(A.storage);
  b.andes.free(B.storage);
  ta.dispose();
  tb.dispose();
  const g = (ms: number) => flop / ms / 1e6;
  // CPU time per call (the process's, lavapipe's threads included) is the steadier measure on a shared machine.
  const cpuRatio = (tfjs.cpuMs / andes.cpuMs).toFixed(2);
  return {
    name,
    andes: g(andes.ms).toFixed(2),
    tfjs: g(tfjs.ms).toFixed(2),
    ratio: `${(tfjs.ms / andes.ms).toFixed(2)}×`,
    note: `${andes.ms.toFixed(2)} ms vs ${tfjs.ms.toFixed(2)} ms; CPU ${andes.cpuMs.toFixed(1)} vs ${tfjs.cpuMs.toFixed(1)} ms (${cpuRatio}×)`,
  };
}
