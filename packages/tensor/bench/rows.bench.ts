/**
 * Row-kernel variants side by side (`rows` section): milliseconds per RMSNorm forward, softmax and last-axis sum
 * over `[rows, cols]`, one column per variant the adapter can run, all timed in one process.
 *
 * @module
 */

import type { WebGpuBackend } from '../src/webgpu/backend.js';
import { setRowVariant } from '../src/webgpu/kernels/row-variants.js';
import { ROW_VARIANTS, rowVariantFits } from '../src/webgpu/tuning/families.js';
import { switchboardOf } from '../src/webgpu/tuning/switchboard.js';
import { type Bench, timeIt } from './harness.js';

/** Prints the table for each `[rows, cols]`. */
export async function rowVariantRows(
  bench: Bench,
  shapes: [number, number][] = [
    [256, 288],
    [4096, 288],
    [256, 4096],
  ],
): Promise<void> {
  const b = bench.andes;
  const profile = switchboardOf((b as WebGpuBackend).rt)!.profile;
  const ids = Object.keys(ROW_VARIANTS).filter((id) => rowVariantFits(profile, ROW_VARIANTS[id]!));
  console.log('\n### row-kernel variants (ms per call)\n');
  console.log(`| op | [rows, cols] | ${ids.join(' | ')} |`);
  console.log(`|---|---|${ids.map(() => '---:').join('|')}|`);
  for (const [rows, cols] of shapes) {
    const x = { storage: b.random('normal', rows * cols, 8, 0), shape: [rows, cols], strides: [cols, 1], offset: 0 };
    const w = { storage: b.random('uniform', cols, 9, 0), shape: [cols], strides: [1], offset: 0 };
    for (const op of ['rmsnorm', 'softmax', 'sum'] as const) {
      const cells: string[] = [];
      for (const id of ids) {
        setRowVariant(ROW_VARIANTS[id]);
        const ms = await timeIt(
          () => {
            if (op === 'softmax') b.free(b.softmax(x, rows, cols, false));
            else if (op === 'sum') b.free(b.reduce('sum', x, [1]));
            else {
              const r = b.rmsNorm(x, w, 1e-5);
              b.free(r.y);
              b.free(r.rstd);
            }
          },
          () => b.sync(),
          { minMs: 200, trials: 3, maxReps: 128 },
        );
        cells.push(ms.toFixed(2));
      }
      console.log(`| ${op} | [${rows}, ${cols}] | ${cells.join(' | ')} |`);
    }
    setRowVariant(undefined);
    b.free(x.storage);
    b.free(w.storage);
  }
}
