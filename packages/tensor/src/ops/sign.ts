import type { Tensor } from '../tensor.js';
import { unaryForward } from './unary-forward.js';

/** −1, 0 or 1 by the sign of x (int32 allowed); zero gradient. */
export function sign(x: Tensor): Tensor {
  const y = unaryForward('sign', x);
  return y;
}
