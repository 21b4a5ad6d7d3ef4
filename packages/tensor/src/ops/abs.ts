import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { mul } from './mul.js';
import { sign } from './sign.js';
import { unaryForward } from './unary-forward.js';

/** |x| elementwise (int32 allowed). */
export function abs(x: Tensor): Tensor {
  const y = unaryForward('abs', x);
  return record('abs', [x], y, (g, [x]) => [mul(g, sign(x!))], [x]);
}
