import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { mul } from './mul.js';
import { unaryForward } from './unary-forward.js';

/** x² elementwise (int32 allowed). */
export function square(x: Tensor): Tensor {
  const y = unaryForward('square', x);
  return record('square', [x], y, (g, [x]) => [mul(g, mul(x!, 2))], [x]);
}
