import { fmt, normAxis } from '../shape.js';
import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';

/** Reorders dimensions: output axis i is input axis dims[i]. A zero-copy view. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  backendOfAnyDtype('permute', x);
  const rank = x.shape.length;
  const d = dims.map((a) => normAxis('permute', a, rank, x.shape));
  if (d.length !== rank || new Set(d).size !== rank) {
    throw new Error(`permute: ${JSON.stringify(dims)} is not a permutation of the axes of ${fmt(x.shape)}`);
  }
  const y = x.view_(
    d.map((a) => x.shape[a]!),
    d.map((a) => x.strides[a]!),
    x.offset,
  );
  const inverse = new Array<number>(rank);
  d.forEach((a, i) => {
    inverse[a] = i;
  });
  return record('permute', [x], y, (g) => [permute(g, inverse)]);
}
