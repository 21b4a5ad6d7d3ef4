import type { Storage, View } from '../backend/backend.js';
import { allocCpu, cpuData, readView } from './storage.js';

/** out[n, :] = table[ids[n], :]. */
export function gather(table: View, ids: View): Storage {
  const D = table.shape[1]!;
  const idx = readView(ids);
  const T = cpuData(table.storage);
  const out = allocCpu(table.storage.dtype, idx.length * D);
  const [s0, s1] = table.strides as [number, number];
  const o = out.data; // a local, not `out.data` per element (see rms-norm.ts)
  for (let n = 0; n < idx.length; n++) {
    const base = table.offset + idx[n]! * s0;
    for (let d = 0; d < D; d++) o[n * D + d] = T[base + d * s1]!;
  }
  return out;
}

/** out [rows, D] zero, then out[ids[n], :] += src[n, :]. Accumulates in float64. */
export function scatterAdd(src: View, ids: View, rows: number): Storage {
  const D = src.shape[1]!;
  const idx = readView(ids);
  const S = readView(src);
  const acc = new Float64Array(rows * D);
  for (let n = 0; n < idx.length; n++) {
    const base = idx[n]! * D;
    for (let d = 0; d < D; d++) acc[base + d]! += S[n * D + d]!;
  }
  const out = allocCpu(src.storage.dtype, rows * D);
  out.data.set(acc);
  return out;
}
