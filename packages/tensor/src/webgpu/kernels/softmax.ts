/**
 * Softmax and log-softmax over the last axis, one workgroup per row (max, sum of exponentials, write).
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { contiguousInput, freeAll, ROW_MAIN, ROW_REDUCE } from './row.js';

const CODE = (log: boolean) => `
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${ROW_REDUCE}
${ROW_MAIN}
  if (row >= pu(0u)) { return; }
  let cols = pu(1u);
  let base = pu(2u) + row * cols;
  let ob = row * cols;
  var m = -inf_();
  for (var j = li; j < cols; j += 128u) { m = max(m, x[base + j]); }
  m = rowMax(m, li);
  var s = 0.0;
  for (var j = li; j < cols; j += 128u) { s += exp(x[base + j] - m); }
  s = rowSum(s, li);
  ${
    log
      ? 'let l = m + log(s);\n  for (var j = li; j < cols; j += 128u) { out[ob + j] = x[base + j] - l; }'
      : 'let inv = 1.0 / s;\n  for (var j = li; j < cols; j += 128u) { out[ob + j] = exp(x[base + j] - m) * inv; }'
  }
}`;

/** Softmax (or log-softmax) of each row of a [rows, cols] view. */
export function softmax(rt: Runtime, x: View, rows: number, cols: number, log: boolean): GpuStorage {
  const out = rt.alloc('float32', rows * cols);
  if (rows * cols === 0) return out;
  const temps: GpuStorage[] = [];
  const xv = contiguousInput(rt, x, temps);
  const p = rt.pipeline(`softmax:${log}`, () => CODE(log));
  rt.dispatch(p, [out, xv.storage as GpuStorage], [rows, cols, xv.offset], rows);
  freeAll(rt, temps);
  return out;
}
