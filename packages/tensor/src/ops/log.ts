import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { div } from './div.js';
import { unaryForward } from './unary-forward.js';

/** Natural logarithm elementwise. */
export function log(x: Tensor): Tensor {
  const y = unaryForward('log', x);
  return record('log', [x], y, (g, [x]) => [div(g, x!)], [x]);
}
