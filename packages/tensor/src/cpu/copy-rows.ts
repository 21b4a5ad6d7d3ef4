/**
 * CPU kernel of `copyRows` (see `ops/copy-rows.ts`): rows copied within one storage.
 *
 * @module
 */
import type { RowRun, Storage } from '../backend/backend.js';
import { cpuData, markWritten } from './storage.js';

/**
 * For each run, rows [to, to + rows) of `pool` (rows of `width`) = rows [from, from + rows) as they were before the
 * call. Every source row is staged first, so a run may read rows that another run writes (a few rows per call: the
 * staging copy is cheaper than working out which runs overlap).
 */
export function copyRows(pool: Storage, width: number, runs: readonly RowRun[]): void {
  const data = cpuData(pool);
  let total = 0;
  for (const r of runs) total += r.rows * width;
  const staged = new Float32Array(total);
  let at = 0;
  for (const r of runs) {
    staged.set(data.subarray(r.from * width, (r.from + r.rows) * width), at);
    at += r.rows * width;
  }
  markWritten(pool);
  at = 0;
  for (const r of runs) {
    data.set(staged.subarray(at, at + r.rows * width), r.to * width);
    at += r.rows * width;
  }
}
