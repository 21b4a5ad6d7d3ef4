import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { mul } from './mul.js';
import { pow } from './pow.js';
import { unaryForward } from './unary-forward.js';

/** 1/√x elementwise. */
export function rsqrt(x: Tensor): Tensor {
  const y = unaryForward('rsqrt', x);
  return record('rsqrt', [x], y, (g, [y]) => [mul(mul(g, -0.5), pow(y!, 3))], [y]);
}
