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

/**
 * x for a kernel that reads it row-major: x itself when it already is contiguous (no new tensor: a decode step
 * passes ~100 contiguous inputs through ops, and a view per input cost a tensor object each), else
 * {@link contiguous}'s copy. Give it back with {@link releaseContiguousInput}. Not for results or tape inputs: the
 * tape aliases what it saves, so passing it as a saved tensor is fine.
 */
export function contiguousInput(x: Tensor): Tensor {
  return x.isContiguous() ? x : contiguous(x);
}

/** Frees what {@link contiguousInput}(x) returned when it was a copy (x itself stays). */
export function releaseContiguousInput(xc: Tensor, x: Tensor): void {
  if (xc !== x) xc.dispose();
}
