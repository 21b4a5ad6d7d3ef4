/**
 * WebGPU path of `copyRows` (see `ops/copy-rows.ts`): buffer copies recorded in the runtime's open encoder, so they
 * keep queue order with the dispatches around them. WebGPU forbids `copyBufferToBuffer` within one buffer, so every
 * run's source rows go to one staging buffer first and from there to their destinations: two copies per run, no
 * pipeline, bind group or uniform (a gather and a paged write per pool cost ~0.1 ms each on lavapipe). Staging all
 * sources before any write also gives the op its semantics: every run reads the pool as it was before the call.
 *
 * @module
 */
import { isHalf, type RowRun } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';

/**
 * For each run, rows [to, to + rows) of `pool` (rows of `width` float32s, or halves: a half pool's rows must then be
 * whole 4-byte words, as buffer copies are) = rows [from, from + rows) before the call.
 */
export function copyRows(rt: Runtime, pool: GpuStorage, width: number, runs: readonly RowRun[]): void {
  const half = isHalf(pool.dtype);
  if (half && width % 2 !== 0) {
    throw new Error(`webgpu.copyRows: a ${pool.dtype} pool's rows must be an even number of elements, got ${width}`);
  }
  const rowBytes = width * (half ? 2 : 4);
  let total = 0;
  for (const r of runs) total += r.rows * rowBytes;
  const staging = rt.alloc('float32', total / 4);
  let at = 0;
  for (const r of runs) {
    rt.copy(pool, r.from * rowBytes, staging, at, r.rows * rowBytes);
    at += r.rows * rowBytes;
  }
  at = 0;
  for (const r of runs) {
    rt.copy(staging, at, pool, r.to * rowBytes, r.rows * rowBytes);
    at += r.rows * rowBytes;
  }
  rt.free(staging);
}
