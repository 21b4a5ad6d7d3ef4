import type { Operand, Tensor } from '../tensor.js';
import { binaryOp } from './binary-op.js';
import { neg } from './neg.js';
import { sumTo } from './sum-to.js';

/** a − b elementwise with NumPy broadcasting. Either operand may be a number. */
export function sub(a: Operand, b: Operand): Tensor {
  return binaryOp('sub', a, b, (aShape, bShape) => (g, _s, needs) => [
    sumTo(g, aShape),
    needs[1] ? neg(sumTo(g, bShape)) : null,
  ]);
}
