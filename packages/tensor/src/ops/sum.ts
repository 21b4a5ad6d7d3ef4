import { normAxes, reducedShape } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { expand } from './expand.js';
import { backendOf } from './inputs.js';
import { reshape } from './reshape.js';

/**
 * Sum over `axis` (a number, a list, or all axes when omitted; negatives count from the end). With `keepdim` the
 * reduced axes stay as size 1. int32 sums stay int32.
 */
export function sum(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  const backend = backendOf('sum', x);
  const axes = normAxes('sum', axis, x.shape);
  const outShape = reducedShape(x.shape, axes, keepdim);
  // Reducing over no axes (a 0-d input) is a copy.
  const storage = axes.length === 0 ? backend.copy(x) : backend.reduce('sum', x, axes);
  const y = Tensor.fromStorage(storage, backend, outShape);
  const keepShape = reducedShape(x.shape, axes, true);
  return record('sum', [x], y, (g) => [expand(reshape(g, keepShape), x.shape)]);
}
