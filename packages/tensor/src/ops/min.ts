import type { Tensor } from '../tensor.js';
import { extremum } from './max.js';

/** Minimum over `axis` (all axes when omitted), keeping the dtype. */
export function min(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return extremum('min', x, axis, keepdim);
}
