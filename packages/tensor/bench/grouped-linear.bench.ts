/**
 * Grouped linear kernels (`linearParts`, its input and weight gradients; kernels/matmul-parts.ts) against the same
 * products as separate matmul dispatches (plus the adds of the input gradients), in interleaved rounds in one process:
 * wall and process-CPU milliseconds per call of each, for the train bench's q/k/v and gate/up shapes and a decode row.
 *
 * @module
 */

import type { Storage, View } from '../src/backend/backend.js';
import type { Bench } from './harness.js';

const view = (storage: Storage, rows: number, cols: number): View => ({
  storage,
  shape: [rows, cols],
  strides: [cols, 1],
  offset: 0,
});
const transposed = (v: View): View => ({
  ...v,
  shape: [v.shape[1]!, v.shape[0]!],
  strides: [v.strides[1]!, v.strides[0]!],
});

/** Prints one table row per (shape, product): grouped vs separate, ms per call (wall, CPU). */
export async function groupedLinearRows(b: Bench, rounds = Number(process.env.ROUNDS ?? 6)): Promise<void> {
  const g = b.andes;
  const upload = (rows: number, cols: number, seed: number) => {
    const s = g.alloc('float32', rows * cols);
    g.write(
      s,
      Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.37 + seed)),
    );
    return view(s, rows, cols);
  };
  console.log('\n### grouped linear kernels vs separate dispatches (ms per call: wall / process CPU)\n');
  console.log('| product | grouped | separate | grouped / separate (CPU) |');
  console.log('|---|---:|---:|---:|');
  for (const [label, M, K, outs] of [
    ['q/k/v [256×256]·3×[256×256]ᵀ', 256, 256, [256, 256, 256]],
    ['gate/up [256×256]·2×[1024×256]ᵀ', 256, 256, [1024, 1024]],
    ['decode q/k/v [1×768]·3×[768×768]ᵀ', 1, 768, [768, 768, 768]],
  ] as const) {
    const x = upload(M, K, 1);
    const ws = outs.map((n, i) => upload(n, K, 2 + i));
    const dys = outs.map((n, i) => upload(M, n, 9 + i));
    const add = (a: Storage, c: Storage) => g.binary('add', view(a, M, K), view(c, M, K), [M, K]);
    const cases: Record<string, [() => Storage[], () => Storage[]]> = {
      forward: [() => [g.linearParts!(x, ws, null)], () => ws.map((w) => g.matmul(x, transposed(w), []))],
      'input grad': [
        () => [g.linearPartsInputGrad!(dys, ws)],
        () => {
          const parts = dys.map((d, i) => g.matmul(d, ws[i]!, []));
          const sums = [parts[0]!];
          for (const p of parts.slice(1)) sums.push(add(sums.at(-1)!, p));
          return [...parts, ...sums.slice(1)];
        },
      ],
      'weight grads': [() => g.linearPartsWeightGrad!(dys, x), () => dys.map((d) => g.matmul(transposed(d), x, []))],
    };
    for (const [name, pair] of Object.entries(cases)) {
      const wall = [0, 0];
      const cpu = [0, 0];
      for (let r = 0; r <= rounds; r++) {
        for (const side of [0, 1]) {
          const t0 = performance.now();
          const c0 = process.cpuUsage();
          const outsNow = pair[side]!();
          await g.sync();
          const c = process.cpuUsage(c0);
          for (const s of outsNow) g.free(s);
          if (r === 0) continue; // the first round compiles
          wall[side]! += (performance.now() - t0) / rounds;
          cpu[side]! += (c.user + c.system) / 1000 / rounds;
        }
      }
      const cell = (i: number) => `${wall[i]!.toFixed(1)} / ${cpu[i]!.toFixed(1)}`;
      console.log(`| ${label} ${name} | ${cell(0)} | ${cell(1)} | ${(cpu[0]! / cpu[1]!).toFixed(2)} |`);
    }
    for (const v of [x, ...ws, ...dys]) g.free(v.storage);
  }
}
