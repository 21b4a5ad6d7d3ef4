import type { Storage, View } from '../backend/backend.js';
import { allocCpu, readView } from './storage.js';

/** Row-wise softmax / log-softmax of a [rows, cols] view, max-subtracted, in float64. */
export function softmax(x: View, rows: number, cols: number, log: boolean): Storage {
  const src = readView(x);
  const out = allocCpu('float32', rows * cols);
  const o = out.data;
  // A row's exponentials, kept in float64 so softmax computes each once (the same values as recomputing them).
  const e = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) max = Math.max(max, src[base + j]!);
    if (max === Number.NEGATIVE_INFINITY) max = 0; // all -inf row: avoid inf - inf
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      e[j] = Math.exp(src[base + j]! - max);
      sum += e[j]!;
    }
    if (log) {
      const lse = max + Math.log(sum);
      for (let j = 0; j < cols; j++) o[base + j] = src[base + j]! - lse;
    } else {
      for (let j = 0; j < cols; j++) o[base + j] = e[j]! / sum;
    }
  }
  return out;
}
