/**
 * sin and cos. They share a file because each one's derivative is the other: two files would import each other.
 *
 * @module
 */
import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { mul } from './mul.js';
import { neg } from './neg.js';
import { unaryForward } from './unary-forward.js';

/** sin(x) elementwise, radians. */
export function sin(x: Tensor): Tensor {
  const y = unaryForward('sin', x);
  return record('sin', [x], y, (g, [x]) => [mul(g, cos(x!))], [x]);
}

/** cos(x) elementwise, radians. */
export function cos(x: Tensor): Tensor {
  const y = unaryForward('cos', x);
  return record('cos', [x], y, (g, [x]) => [neg(mul(g, sin(x!)))], [x]);
}
