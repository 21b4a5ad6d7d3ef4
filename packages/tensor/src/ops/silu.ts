import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { add } from './add.js';
import { mul } from './mul.js';
import { sigmoid } from './sigmoid.js';
import { sub } from './sub.js';
import { unaryForward } from './unary-forward.js';

/** x · sigmoid(x) elementwise (SwiGLU's gate activation). */
export function silu(x: Tensor): Tensor {
  const y = unaryForward('silu', x);
  // d/dx = s·(1 + x·(1 − s)) with s = sigmoid(x).
  return record(
    'silu',
    [x],
    y,
    (g, [x]) => {
      const s = sigmoid(x!);
      return [mul(g, mul(s, add(mul(x!, sub(1, s)), 1)))];
    },
    [x],
  );
}
