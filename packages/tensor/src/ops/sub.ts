import type { Operand, Tensor } from '../tensor.js';
import { binaryOp } from './binary-op.js';
import { neg } from './neg.js';

/** a − b elementwise with NumPy broadcasting. Either operand may be a number. */
export function sub(a: Operand, b: Operand): Tensor {
  return binaryOp('sub', a, b, (g, _s, needs) => [g, needs[1] ? neg(g) : null]);
}
