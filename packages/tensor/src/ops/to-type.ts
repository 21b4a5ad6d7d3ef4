import { type DType, isHalf } from '../backend/backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';
import { reshape } from './reshape.js';

const isFloat = (d: DType) => d === 'float32' || isHalf(d);

/**
 * x converted to `dtype`: float → int truncates toward zero; to float16 / bfloat16 rounds to nearest even (overflow
 * to ±Infinity, NaN stays NaN, tiny values to subnormals or ±0, as IEEE 754 does); halves to float32 are exact.
 * Same dtype: a view. Between float types the gradient flows, converted back to x's dtype (a float32 gradient stays
 * float32); conversions to or from int32 carry none.
 */
export function toType(x: Tensor, dtype: DType): Tensor {
  const backend = backendOfAnyDtype('toType', x);
  if (x.dtype === dtype) return reshape(x, x.shape);
  const y = Tensor.fromStorage(backend.copy(x, dtype), backend, x.shape);
  if (!isFloat(x.dtype) || !isFloat(dtype)) return y;
  const from = x.dtype;
  return record('toType', [x], y, (g) => [g.dtype === from || g.dtype === 'float32' ? g : toType(g, from)]);
}
