import type { Operand, Tensor } from '../tensor.js';
import { binaryOp } from './binary-op.js';
import { mul } from './mul.js';
import { neg } from './neg.js';

/** a / b elementwise with NumPy broadcasting (int32 ÷ int32 truncates toward zero). */
export function div(a: Operand, b: Operand): Tensor {
  return binaryOp(
    'div',
    a,
    b,
    (g, [tb, y], needs) => {
      const ga = div(g, tb!);
      // d(a/b)/db = −a/b² = −y/b.
      return [needs[0] ? ga : null, needs[1] ? neg(mul(ga, y!)) : null];
    },
    (_ta, tb, y) => [tb, y],
  );
}
