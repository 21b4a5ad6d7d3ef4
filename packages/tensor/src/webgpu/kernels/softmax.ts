/**
 * Softmax and log-softmax over the last axis: a row per lane group of a row variant (`row-variants.ts`): max, sum of
 * exponentials, write.
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { contiguousInput, freeAll } from './row.js';
import { type RowVariant, rowGroups, rowKernel, rowVariant, rowVariantKey } from './row-variants.js';

const CODE = (log: boolean, v: RowVariant) => {
  const k = rowKernel(v, 'pu(0u)');
  return `${k.decls}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${k.main}
  let cols = pu(1u);
  let base = pu(2u) + row * cols;
  let ob = row * cols;
  var m = -inf_();
  for (var j = lane; j < cols; j += LANES) { m = max(m, x[base + j]); }
  m = rowMax(m, li);
  var s = 0.0;
  for (var j = lane; j < cols; j += LANES) { s += exp(x[base + j] - m); }
  s = rowSum(s, li);
  if (!live) { return; }
  ${
    log
      ? 'let l = m + log(s);\n  for (var j = lane; j < cols; j += LANES) { out[ob + j] = x[base + j] - l; }'
      : 'let inv = 1.0 / s;\n  for (var j = lane; j < cols; j += LANES) { out[ob + j] = exp(x[base + j] - m) * inv; }'
  }
}`;
};

/** Softmax (or log-softmax) of each row of a [rows, cols] view. */
export function softmax(rt: Runtime, x: View, rows: number, cols: number, log: boolean): GpuStorage {
  const out = rt.alloc('float32', rows * cols);
  if (rows * cols === 0) return out;
  const temps: GpuStorage[] = [];
  const xv = contiguousInput(rt, x, temps);
  const v = rowVariant(rt, { op: 'softmax', rows, cols });
  const p = rt.pipeline(`softmax:${log}:${rowVariantKey(v)}`, () => CODE(log, v));
  rt.dispatch(p, [out, xv.storage as GpuStorage], [rows, cols, xv.offset], rowGroups(v, rows));
  freeAll(rt, temps);
  return out;
}
