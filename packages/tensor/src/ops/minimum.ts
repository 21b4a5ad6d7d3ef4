import type { Operand, Tensor } from '../tensor.js';
import { binaryForward } from './binary-forward.js';
import { binaryOp } from './binary-op.js';
import { where } from './where.js';

/** min(a, b) elementwise with broadcasting; the gradient goes to a where a ≤ b, else to b. */
export function minimum(a: Operand, b: Operand): Tensor {
  return binaryOp(
    'minimum',
    a,
    b,
    (g, [ta, tb]) => {
      const pick = binaryForward('le', ta!, tb!);
      return [where(pick, g, 0), where(pick, 0, g)];
    },
    (ta, tb) => [ta, tb],
  );
}
