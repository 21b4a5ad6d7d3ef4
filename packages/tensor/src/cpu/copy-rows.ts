/**
 * CPU kernel of `copyRows` (see `ops/copy-rows.ts`): rows copied within one storage.
 *
 * @module
 */
import type { RowRun, Storage } from '../backend/backend.js';
import { cpuStorage, markWritten } from './storage.js';

/**
 * For each run, rows [to, to + rows) of `pool` (rows of `width`) = rows [from, from + rows) as they were before the
 * call. Every source row is staged first, so a run may read rows that another run writes (a few rows per call: the
 * staging copy is cheaper than working out which runs overlap).
 */
export function copyRows(pool: Storage, width: number, runs: readonly RowRun[]): void {
  // Any element type (a half pool's bits copy as they are).
  const data = cpuStorage(pool).data;
  let total = 0;
  for (const r of runs) total += r.rows * width;
  const staged = data instanceof Uint16Array ? new Uint16Array(total) : new Float32Array(total);
  let at = 0;
  for (const r of runs) {
    staged.set(data.subarray(r.from * width, (r.from + r.rows) * width) as Float32Array & Uint16Array, at);
    at += r.rows * width;
  }
  markWritten(pool);
  at = 0;
  for (const r of runs) {
    data.set(staged.subarray(at, at + r.rows * width) as Float32Array & Uint16Array, r.to * width);
    at += r.rows * width;
  }
}
