import type { Operand, Tensor } from '../tensor.js';
import { binaryOp } from './binary-op.js';

/** a + b elementwise with NumPy broadcasting. Either operand may be a number. */
export function add(a: Operand, b: Operand): Tensor {
  return binaryOp('add', a, b, (g) => [g, g]);
}
