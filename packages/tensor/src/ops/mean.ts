import { normAxes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { mul } from './mul.js';
import { sum } from './sum.js';
import { toType } from './to-type.js';

/** Mean over `axis` (all axes when omitted), float32. The mean of zero elements is NaN. */
export function mean(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  const axes = normAxes('mean', axis, x.shape);
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  // int32 inputs average in float32 (a scalar 1/count would otherwise take the int dtype).
  return tidy(() => mul(sum(x.dtype === 'int32' ? toType(x, 'float32') : x, axes, keepdim), 1 / count));
}
