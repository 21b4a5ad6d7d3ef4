import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { div } from './div.js';
import { mul } from './mul.js';
import { unaryForward } from './unary-forward.js';

/** √x elementwise. */
export function sqrt(x: Tensor): Tensor {
  const y = unaryForward('sqrt', x);
  return record('sqrt', [x], y, (g, [y]) => [div(mul(g, 0.5), y!)], [y]);
}
