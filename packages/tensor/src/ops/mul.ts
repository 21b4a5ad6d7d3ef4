import type { Operand, Tensor } from '../tensor.js';
import { binaryOp } from './binary-op.js';

/** a · b elementwise with NumPy broadcasting. Either operand may be a number. */
export function mul(a: Operand, b: Operand): Tensor {
  return binaryOp(
    'mul',
    a,
    b,
    (g, [ta, tb], needs) => [needs[0] ? mul(g, tb!) : null, needs[1] ? mul(g, ta!) : null],
    (ta, tb) => [ta, tb],
  );
}
