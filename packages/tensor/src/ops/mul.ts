import type { Operand, Tensor } from '../tensor.js';
import { binaryOp } from './binary-op.js';
import { sumTo } from './sum-to.js';

/** a · b elementwise with NumPy broadcasting. Either operand may be a number. */
export function mul(a: Operand, b: Operand): Tensor {
  return binaryOp(
    'mul',
    a,
    b,
    (aShape, bShape) =>
      (g, [ta, tb], needs) => [
        needs[0] ? sumTo(mul(g, tb!), aShape) : null,
        needs[1] ? sumTo(mul(g, ta!), bShape) : null,
      ],
    (ta, tb) => [ta, tb],
  );
}
