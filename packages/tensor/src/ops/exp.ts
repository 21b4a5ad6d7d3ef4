import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { mul } from './mul.js';
import { unaryForward } from './unary-forward.js';

/** e^x elementwise. */
export function exp(x: Tensor): Tensor {
  const y = unaryForward('exp', x);
  return record('exp', [x], y, (g, [y]) => [mul(g, y!)], [y]);
}
