import { normAxis } from '../shape.js';
import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';
import { reshape } from './reshape.js';

/** Drops size-1 axes: the given axis (unchanged if its size is not 1, like torch) or all of them. A view. */
export function squeeze(x: Tensor, axis?: number): Tensor {
  backendOfAnyDtype('squeeze', x);
  const drop =
    axis === undefined
      ? (i: number) => x.shape[i] === 1
      : (
          (a: number) => (i: number) =>
            i === a && x.shape[i] === 1
        )(normAxis('squeeze', axis, x.shape.length, x.shape));
  const keep = [...x.shape.keys()].filter((i) => !drop(i));
  const y = x.view_(
    keep.map((i) => x.shape[i]!),
    keep.map((i) => x.strides[i]!),
    x.offset,
  );
  const from = x.shape;
  return record('squeeze', [x], y, (g) => [reshape(g, from)]);
}
