import type { Operand, Tensor } from '../tensor.js';
import { binaryOp } from './binary-op.js';
import { log } from './log.js';
import { mul } from './mul.js';
import { sub } from './sub.js';
import { sumTo } from './sum-to.js';

/** a^b elementwise with NumPy broadcasting. */
export function pow(a: Operand, b: Operand): Tensor {
  return binaryOp(
    'pow',
    a,
    b,
    (aShape, bShape) =>
      (g, [ta, tb, y], needs) => [
        // d/da = b·a^(b−1); d/db = a^b·ln a.
        needs[0] ? sumTo(mul(mul(g, tb!), pow(ta!, sub(tb!, 1))), aShape) : null,
        needs[1] ? sumTo(mul(mul(g, y!), log(ta!)), bShape) : null,
      ],
    (ta, tb, y) => [ta, tb, y],
  );
}
