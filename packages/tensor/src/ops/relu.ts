import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { gt } from './compare.js';
import { mul } from './mul.js';
import { unaryForward } from './unary-forward.js';

/** max(x, 0) elementwise. */
export function relu(x: Tensor): Tensor {
  const y = unaryForward('relu', x);
  return record('relu', [x], y, (g, [x]) => [mul(g, gt(x!, 0))], [x]);
}
