import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { mul } from './mul.js';
import { neg } from './neg.js';
import { square } from './square.js';
import { unaryForward } from './unary-forward.js';

/** 1/x elementwise. */
export function reciprocal(x: Tensor): Tensor {
  const y = unaryForward('reciprocal', x);
  return record('reciprocal', [x], y, (g, [y]) => [neg(mul(g, square(y!)))], [y]);
}
