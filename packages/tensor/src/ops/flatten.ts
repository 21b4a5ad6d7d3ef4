import { normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { reshape } from './reshape.js';

/** Merges axes start..end (inclusive, negatives allowed) into one. A view when x is contiguous. */
export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.shape.length === 0) return reshape(x, [1]);
  const s = normAxis('flatten', start, x.shape.length, x.shape);
  const e = normAxis('flatten', end, x.shape.length, x.shape);
  const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}
