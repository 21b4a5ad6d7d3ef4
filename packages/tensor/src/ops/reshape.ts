import { resolveShape, stridesOf } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';

/** Same elements in a new shape (one −1 is inferred). A zero-copy view when x is contiguous, else a copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const backend = backendOfAnyDtype('reshape', x);
  const target = resolveShape('reshape', shape, x.size, x.shape);
  let y: Tensor;
  if (x.isContiguous()) {
    y = x.view_(target, stridesOf(target), x.offset);
  } else {
    const c = Tensor.fromStorage(backend.copy(x), backend, x.shape);
    y = c.view_(target, stridesOf(target), 0);
    c.dispose();
  }
  const from = x.shape;
  return record('reshape', [x], y, (g) => [reshape(g, from)]);
}
