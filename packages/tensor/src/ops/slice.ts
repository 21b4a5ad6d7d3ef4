import { fmt, normAxis } from '../shape.js';
import { record } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { backendOfAnyDtype, filled } from './inputs.js';

/**
 * Elements [start, end) along `axis` as a zero-copy view. Negative start/end count from the end; both are clamped to
 * the axis like Python slices. `end` defaults to the axis length.
 */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const backend = backendOfAnyDtype('slice', x);
  const a = normAxis('slice', axis, x.shape.length, x.shape);
  const n = x.shape[a]!;
  const clamp = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  const s = clamp(start);
  const e = Math.max(s, clamp(end ?? n));
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
    throw new Error(`slice: start/end must be integers, got ${start}, ${end} for ${fmt(x.shape)}`);
  }
  const shape = [...x.shape];
  shape[a] = e - s;
  const y = x.view_(shape, x.strides, x.offset + s * x.strides[a]!);
  const from = x.shape;
  return record('slice', [x], y, (g) => {
    // Scatter the gradient into a zero tensor of the input's shape.
    const dx = filled(backend, 'float32', from, 0);
    const window = { storage: dx.storage, shape, strides: dx.strides, offset: s * dx.strides[a]! };
    backend.copyInto(window, g);
    return [dx];
  });
}

/** `length` elements from `start` along `axis` (a view); errors when the range leaves the axis. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis('narrow', axis, x.shape.length, x.shape);
  const n = x.shape[a]!;
  const s = start < 0 ? start + n : start;
  if (s < 0 || length < 0 || s + length > n) {
    throw new Error(
      `narrow: range [${start}, ${start}+${length}) is out of bounds for axis ${axis} of ${fmt(x.shape)}`,
    );
  }
  return slice(x, a, s, s + length);
}
