import type { Operand, Tensor } from '../tensor.js';
import { binaryOp } from './binary-op.js';
import { log } from './log.js';
import { mul } from './mul.js';
import { sub } from './sub.js';

/** a^b elementwise with NumPy broadcasting. */
export function pow(a: Operand, b: Operand): Tensor {
  return binaryOp(
    'pow',
    a,
    b,
    (g, [ta, tb, y], needs) => [
      // d/da = b·a^(b−1); d/db = a^b·ln a.
      needs[0] ? mul(mul(g, tb!), pow(ta!, sub(tb!, 1))) : null,
      needs[1] ? mul(mul(g, y!), log(ta!)) : null,
    ],
    (ta, tb, y) => [ta, tb, y],
  );
}
