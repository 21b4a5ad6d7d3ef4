import { normAxes, reducedShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { add } from './add.js';
import { exp } from './exp.js';
import { log } from './log.js';
import { max } from './max.js';
import { reshape } from './reshape.js';
import { sub } from './sub.js';
import { sum } from './sum.js';

/** log Σ exp(x) over `axis`, stabilised by subtracting the (detached) maximum. */
export function logsumexp(x: Tensor, axis: number | readonly number[], keepdim = false): Tensor {
  const axes = normAxes('logsumexp', axis, x.shape);
  return tidy(() => {
    // The max shift cancels in the gradient, so it is taken from a detached copy.
    const m = max(x.detach(), axes, true);
    const out = add(log(sum(exp(sub(x, m)), axes, true)), m);
    return keepdim ? out : reshape(out, reducedShape(x.shape, axes, false));
  });
}
