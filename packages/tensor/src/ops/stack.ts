import { normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { concat } from './concat.js';
import { unsqueeze } from './unsqueeze.js';

/** Joins equal-shape tensors along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: needs at least one tensor');
  const a = normAxis('stack', axis, tensors[0]!.shape.length + 1, tensors[0]!.shape);
  return tidy(() =>
    concat(
      tensors.map((t) => unsqueeze(t, a)),
      a,
    ),
  );
}
