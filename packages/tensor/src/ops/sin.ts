import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { cos } from './cos.js';
import { mul } from './mul.js';
import { unaryForward } from './unary-forward.js';

/** sin(x) elementwise, radians. */
export function sin(x: Tensor): Tensor {
  const y = unaryForward('sin', x);
  return record('sin', [x], y, (g, [x]) => [mul(g, cos(x!))], [x]);
}
