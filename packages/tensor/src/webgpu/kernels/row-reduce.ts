/**
 * Sum, max or min of each row of a float32 `[rows, cols]` block with unit-stride rows (a reduction over a contiguous
 * last axis, as `reduce` sees it after collapsing), as a row kernel of the tunable `rows` family: on CPU adapters a
 * 128-invocation barrier tree per row is the slow part, and rows of 8 lanes folded by subgroup shuffles avoid it.
 *
 * @module
 */

import type { GpuStorage, Runtime } from '../runtime.js';
import { type RowVariant, rowGroups, rowKernel, rowVariant, rowVariantKey } from './row-variants.js';

/** The reductions {@link rowReduce} computes. */
export type RowReduceOp = 'sum' | 'max' | 'min';

const CODE = (op: RowReduceOp, v: RowVariant) => {
  const k = rowKernel(v, 'pu(0u)');
  const init = op === 'sum' ? '0.0' : op === 'max' ? '-inf_()' : 'inf_()';
  const step = op === 'sum' ? 'acc += x[base + j];' : `acc = ${op}(acc, x[base + j]);`;
  // min folds as −max(−x): the lane helpers offer sum and max.
  const fold = op === 'sum' ? 'rowSum(acc, li)' : op === 'max' ? 'rowMax(acc, li)' : '-rowMax(-acc, li)';
  return `${k.decls}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${k.main}
  let cols = pu(1u);
  let base = pu(2u) + row * cols;
  var acc = ${init};
  for (var j = lane; j < cols; j += LANES) { ${step} }
  let r = ${fold};
  if (live && lane == 0u) { out[row] = r; }
}`;
};

/** Records the reduction of `rows` rows of `cols` floats starting at element `offset` of `x` into `out [rows]`. */
export function rowReduce(
  rt: Runtime,
  op: RowReduceOp,
  x: GpuStorage,
  offset: number,
  rows: number,
  cols: number,
  out: GpuStorage,
): void {
  const v = rowVariant(rt, { op, rows, cols });
  const p = rt.pipeline(`row-reduce:${op}:${rowVariantKey(v)}`, () => CODE(op, v));
  rt.dispatch(p, [out, x], [rows, cols, offset], rowGroups(v, rows));
}
