import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { mul } from './mul.js';
import { neg } from './neg.js';
import { sin } from './sin.js';
import { unaryForward } from './unary-forward.js';

/** cos(x) elementwise, radians. */
export function cos(x: Tensor): Tensor {
  const y = unaryForward('cos', x);
  return record('cos', [x], y, (g, [x]) => [neg(mul(g, sin(x!)))], [x]);
}
