import { expandStrides, fmt } from '../shape.js';
import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';

/** Broadcasts x to `shape` (new leading axes allowed; −1 keeps a size) as a view with stride 0 on repeated axes. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  backendOfAnyDtype('expand', x);
  const lead = shape.length - x.shape.length;
  if (lead < 0) throw new Error(`expand: cannot expand ${fmt(x.shape)} to the lower-rank ${fmt(shape)}`);
  const target = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  if (target.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`expand: invalid target ${fmt(shape)} for ${fmt(x.shape)} (−1 only keeps an existing axis)`);
  }
  const y = x.view_(target, expandStrides('expand', x.shape, x.strides, target), x.offset);
  // The gradient comes back in the expanded shape; the backward pass sums it down to x's.
  return record('expand', [x], y, (g) => [g]);
}
