import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';

/** A copy with its own contiguous storage; gradients flow through. */
export function clone(x: Tensor): Tensor {
  const backend = backendOfAnyDtype('clone', x);
  const y = Tensor.fromStorage(backend.copy(x), backend, x.shape);
  return record('clone', [x], y, (g) => [g]);
}
