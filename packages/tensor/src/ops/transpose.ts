import { normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { permute } from './permute.js';

/** Swaps axes a and b (negatives allowed). A zero-copy view; matmul reads it without copying. */
export function transpose(x: Tensor, a: number, b: number): Tensor {
  const rank = x.shape.length;
  const dims = new Array<number>(rank);
  for (let k = 0; k < rank; k++) dims[k] = k;
  const i = normAxis('transpose', a, rank, x.shape);
  const j = normAxis('transpose', b, rank, x.shape);
  dims[i] = j;
  dims[j] = i;
  return permute(x, dims);
}
