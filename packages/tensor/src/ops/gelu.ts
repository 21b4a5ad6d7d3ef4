import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { add } from './add.js';
import { mul } from './mul.js';
import { square } from './square.js';
import { sub } from './sub.js';
import { tanh } from './tanh.js';
import { unaryForward } from './unary-forward.js';

const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** GELU with the tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as GPT-2. */
export function gelu(x: Tensor): Tensor {
  const y = unaryForward('gelu', x);
  // With u = C·(x + A·x³), t = tanh(u): d/dx = 0.5·(1 + t) + 0.5·x·(1 − t²)·C·(1 + 3A·x²).
  return record(
    'gelu',
    [x],
    y,
    (g, [x]) => {
      const x2 = square(x!);
      const t = tanh(mul(mul(x!, add(mul(x2, A), 1)), C));
      const left = mul(add(t, 1), 0.5);
      const right = mul(mul(mul(x!, sub(1, square(t))), 0.5 * C), add(mul(x2, 3 * A), 1));
      return [mul(g, add(left, right))];
    },
    [x],
  );
}
