import { normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { softmaxLastAxis } from './softmax.js';
import { transpose } from './transpose.js';

/** log(softmax(x)) along `axis` (default last), computed stably as x − logsumexp(x). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const rank = Math.max(1, x.shape.length);
  const a = normAxis('logSoftmax', axis, rank, x.shape);
  if (x.shape.length === 0 || a === rank - 1) return softmaxLastAxis(x, true);
  return tidy(() => transpose(softmaxLastAxis(transpose(x, a, -1), true), a, -1));
}
