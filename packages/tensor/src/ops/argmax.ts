import { fmt, normAxis, reducedShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { backendOf } from './inputs.js';

/** int32 index of the first maximum along one axis (no gradient). */
export function argmax(x: Tensor, axis: number, keepdim = false): Tensor {
  const backend = backendOf('argmax', x);
  const a = normAxis('argmax', axis, x.shape.length, x.shape);
  if (x.shape[a] === 0) throw new Error(`argmax: cannot reduce the empty axis ${a} of ${fmt(x.shape)}`);
  return Tensor.fromStorage(backend.reduce('argmax', x, [a]), backend, reducedShape(x.shape, [a], keepdim));
}
