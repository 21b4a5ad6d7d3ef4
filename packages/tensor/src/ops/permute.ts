import { fmt, normAxis } from '../shape.js';
import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';

/** Reorders dimensions: output axis i is input axis dims[i]. A zero-copy view. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  backendOfAnyDtype('permute', x);
  const rank = x.shape.length;
  if (dims.length !== rank) {
    throw new Error(`permute: ${JSON.stringify(dims)} is not a permutation of the axes of ${fmt(x.shape)}`);
  }
  // Plain loops (no Set, no closures): linear layers transpose their weight on every call.
  const shape = new Array<number>(rank);
  const strides = new Array<number>(rank);
  const inverse = new Array<number>(rank).fill(-1);
  for (let i = 0; i < rank; i++) {
    const a = normAxis('permute', dims[i]!, rank, x.shape);
    if (inverse[a] !== -1) {
      throw new Error(`permute: ${JSON.stringify(dims)} is not a permutation of the axes of ${fmt(x.shape)}`);
    }
    inverse[a] = i;
    shape[i] = x.shape[a]!;
    strides[i] = x.strides[a]!;
  }
  const y = x.view_(shape, strides, x.offset);
  return record('permute', [x], y, (g) => [permute(g, inverse)]);
}
