import type { DType } from '../backend/backend.js';
import { Tensor } from '../tensor.js';
import { backendOf } from './inputs.js';
import { reshape } from './reshape.js';

/** x converted to `dtype` (float→int truncates toward zero). Same dtype: a view. Conversions carry no gradient. */
export function toType(x: Tensor, dtype: DType): Tensor {
  const backend = backendOf('toType', x);
  if (x.dtype === dtype) return reshape(x, x.shape);
  return Tensor.fromStorage(backend.copy(x, dtype), backend, x.shape);
}
