import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { unaryForward } from './unary-forward.js';

/** −x elementwise (int32 allowed). */
export function neg(x: Tensor): Tensor {
  const y = unaryForward('neg', x);
  return record('neg', [x], y, (g) => [neg(g)]);
}
