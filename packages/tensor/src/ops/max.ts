import type { ReduceOp } from '../backend/backend.js';
import { fmt, normAxes, reducedShape } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { binaryForward } from './binary-forward.js';
import { div } from './div.js';
import { expand } from './expand.js';
import { backendOf } from './inputs.js';
import { mul } from './mul.js';
import { reshape } from './reshape.js';
import { sum } from './sum.js';

/** Shared forward/backward of max and min: the gradient is split evenly among tied extreme elements. */
export function extremum(op: 'max' | 'min', x: Tensor, axis: number | readonly number[] | undefined, keepdim: boolean) {
  const backend = backendOf(op, x);
  const axes = normAxes(op, axis, x.shape);
  for (const a of axes)
    if (x.shape[a] === 0) throw new Error(`${op}: cannot reduce the empty axis ${a} of ${fmt(x.shape)}`);
  const storage = axes.length === 0 ? backend.copy(x) : backend.reduce(op as ReduceOp, x, axes);
  const y = Tensor.fromStorage(storage, backend, reducedShape(x.shape, axes, keepdim));
  const keepShape = reducedShape(x.shape, axes, true);
  return record(
    op,
    [x],
    y,
    (g, [x, y]) => {
      const hit = binaryForward('eq', x!, expand(reshape(y!, keepShape), x!.shape));
      const ties = sum(hit, axes, true);
      return [mul(hit, div(reshape(g, keepShape), ties))];
    },
    [x, y],
  );
}

/** Maximum over `axis` (all axes when omitted), keeping the dtype. */
export function max(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return extremum('max', x, axis, keepdim);
}
