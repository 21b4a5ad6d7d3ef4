import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';

/** x with a row-major layout: a view when already contiguous, otherwise a copy. */
export function contiguous(x: Tensor): Tensor {
  const backend = backendOfAnyDtype('contiguous', x);
  const y = x.isContiguous()
    ? x.view_(x.shape, x.strides, x.offset)
    : Tensor.fromStorage(backend.copy(x), backend, x.shape);
  return record('contiguous', [x], y, (g) => [g]);
}
