import type { Operand, Tensor } from '../tensor.js';
import { binaryOp } from './binary-op.js';
import { sumTo } from './sum-to.js';

/** a + b elementwise with NumPy broadcasting. Either operand may be a number. */
export function add(a: Operand, b: Operand): Tensor {
  return binaryOp('add', a, b, (aShape, bShape) => (g) => [sumTo(g, aShape), sumTo(g, bShape)]);
}
