import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { mul } from './mul.js';
import { square } from './square.js';
import { sub } from './sub.js';
import { unaryForward } from './unary-forward.js';

/** tanh(x) elementwise. */
export function tanh(x: Tensor): Tensor {
  const y = unaryForward('tanh', x);
  return record('tanh', [x], y, (g, [y]) => [mul(g, sub(1, square(y!)))], [y]);
}
