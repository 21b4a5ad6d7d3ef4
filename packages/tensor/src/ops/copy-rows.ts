/**
 * `copyRows`: an in-place copy of whole rows within one tensor, e.g. the first k positions of one block of a paged KV
 * pool into another block (partial-block prefix reuse). The row pairs are host numbers, checked on the host and
 * collapsed into runs of consecutive rows, so the backend copies ranges: `copyBufferToBuffer` per run on WebGPU
 * (through a staging buffer, since WebGPU forbids a copy within one buffer), typed-array range copies on the CPU.
 * No index tensor, no pipeline, no dispatch.
 *
 * Inference only, like `writePagedKv`: it records no gradient (it bumps the pool's version, so a tape that saved the
 * pool notices).
 *
 * @module
 */
import type { RowRun } from '../backend/backend.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOfAnyDtype, requireFloat } from './inputs.js';

/**
 * Sorts the pairs by destination and merges consecutive ones into runs. Throws, naming the pair, when a row is
 * outside [0, rows) or not an integer, or when two pairs write the same row.
 */
function rowRuns(op: string, rows: number, from: ArrayLike<number>, to: ArrayLike<number>): RowRun[] {
  const order = Array.from({ length: to.length }, (_, i) => i);
  for (const i of order) {
    const [f, t] = [from[i] as number, to[i] as number];
    if (!Number.isInteger(f) || !Number.isInteger(t) || f < 0 || t < 0 || f >= rows || t >= rows) {
      throw new Error(`${op}: pair ${i} copies row ${f} to row ${t}, outside the ${rows} rows of the pool`);
    }
  }
  order.sort((a, b) => (to[a] as number) - (to[b] as number));
  const runs: RowRun[] = [];
  let last: RowRun | undefined;
  let prev = -1;
  for (const i of order) {
    const [f, t] = [from[i] as number, to[i] as number];
    if (last && t === last.to + last.rows - 1) {
      throw new Error(`${op}: pairs ${prev} and ${i} both write row ${t}`);
    }
    if (last && t === last.to + last.rows && f === last.from + last.rows) last.rows++;
    else runs.push((last = { from: f, to: t, rows: 1 }));
    prev = i;
  }
  return runs;
}

/**
 * In place: row `to[i]` of `pool [rows, width]` = row `from[i]`, for every i, each source row read as it was before
 * the call (so a row may be both a source and a destination; a source may feed several destinations). `pool` must be
 * a contiguous float32 (or float16 / bfloat16: a half KV pool, its bits copied) tensor covering its whole storage; a
 * reshape of one is a view of the same storage, so e.g. `copyRows(kPool.reshape([numBlocks · blockSize, Hkv · D]),
 * from, to)` copies positions of a paged KV pool. On WebGPU a half pool's rows must be an even number of elements
 * (buffer copies move whole 4-byte words). Throws, naming the op, shapes and the pair, on a pool of another rank,
 * dtype or layout, `from`/`to` of different lengths, a row out of range, or two pairs writing one row. No gradient:
 * the pool's version is bumped, as after `assign`.
 */
export function copyRows(pool: Tensor, from: ArrayLike<number>, to: ArrayLike<number>): void {
  const op = 'copyRows';
  const backend = backendOfAnyDtype(op, pool);
  requireFloat(op, pool, 'pool');
  if (pool.shape.length !== 2 || !pool.isWholeStorage()) {
    throw new Error(
      `${op}: pool must be a contiguous [rows, width] tensor over its whole storage, got ${fmt(pool.shape)}`,
    );
  }
  if (from.length !== to.length) {
    throw new Error(`${op}: ${from.length} source rows but ${to.length} destination rows (pool ${fmt(pool.shape)})`);
  }
  const [rows, width] = pool.shape as [number, number];
  const runs = rowRuns(op, rows, from, to);
  if (runs.length === 0 || width === 0) return;
  backend.copyRows(pool.storage, width, runs);
  pool.storageRef.version++; // what autograd saved of the pool is stale now, as after assign
}
