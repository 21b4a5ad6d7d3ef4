import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { mul } from './mul.js';
import { sub } from './sub.js';
import { unaryForward } from './unary-forward.js';

/** 1 / (1 + e^−x) elementwise. */
export function sigmoid(x: Tensor): Tensor {
  const y = unaryForward('sigmoid', x);
  return record('sigmoid', [x], y, (g, [y]) => [mul(g, mul(y!, sub(1, y!)))], [y]);
}
