import { normAxis } from '../shape.js';
import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';
import { reshape } from './reshape.js';

/** Inserts a size-1 axis at `axis` (in −(rank+1) … rank). A view. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  backendOfAnyDtype('unsqueeze', x);
  const a = normAxis('unsqueeze', axis, x.shape.length + 1, x.shape);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(a, 0, 1);
  strides.splice(a, 0, a < x.shape.length ? x.shape[a]! * x.strides[a]! : 1);
  const y = x.view_(shape, strides, x.offset);
  const from = x.shape;
  return record('unsqueeze', [x], y, (g) => [reshape(g, from)]);
}
