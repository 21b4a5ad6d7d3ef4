/**
 * The grouped linear products of matmul-parts.ts computed apart, one tuned matmul per part (and the adds of the input
 * gradient, and of the residual), laid out as the grouped kernels lay them out. GPUs take this route by default: the
 * grouped kernels are fixed column strips, measured on lavapipe only, where the tuned family (tiled, double-buffered
 * vec4) is several times faster on large products and a dispatch costs little. With tuning on, the `linear-parts`
 * family times both routes per shape class on the user's adapter and keeps the faster.
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { binary } from './elementwise.js';
import { matmul } from './matmul.js';

const rows = (storage: GpuStorage, M: number, N: number): View => ({
  storage,
  shape: [M, N],
  strides: [N, 1],
  offset: 0,
});

/** A 2-D view's transpose (swapped strides). */
export function transposedView(v: View): View {
  return {
    storage: v.storage,
    shape: [v.shape[1]!, v.shape[0]!],
    strides: [v.strides[1]!, v.strides[0]!],
    offset: v.offset,
  };
}

/** See `linearParts` in matmul-parts.ts; the parts are copied (buffer copies, not dispatches) into one storage. */
export function linearPartsApart(rt: Runtime, x: View, weights: readonly View[], residual: View | null): GpuStorage {
  const M = x.shape[0]!;
  if (residual !== null) {
    const y = matmul(rt, x, transposedView(weights[0]!), []);
    const sum = binary(rt, 'add', rows(y, M, weights[0]!.shape[0]!), residual, residual.shape);
    rt.free(y);
    return sum;
  }
  const out = rt.alloc(
    'float32',
    weights.reduce((n, w) => n + M * w.shape[0]!, 0),
  );
  let at = 0;
  for (const w of weights) {
    const part = matmul(rt, x, transposedView(w), []);
    rt.copy(part, 0, out, at * 4, part.size * 4);
    at += part.size;
    rt.free(part);
  }
  return out;
}

/** See `linearPartsInputGrad` in matmul-parts.ts: a matmul per part, then adds. */
export function linearPartsInputGradApart(rt: Runtime, dys: readonly View[], weights: readonly View[]): GpuStorage {
  const M = dys[0]!.shape[0]!;
  const K = weights[0]!.shape[1]!;
  let sum = matmul(rt, dys[0]!, weights[0]!, []);
  for (let p = 1; p < dys.length; p++) {
    const part = matmul(rt, dys[p]!, weights[p]!, []);
    const next = binary(rt, 'add', rows(sum, M, K), rows(part, M, K), [M, K]);
    rt.free(sum);
    rt.free(part);
    sum = next;
  }
  return sum;
}

/** See `linearPartsWeightGrad` in matmul-parts.ts: dy_pᵀ · x, a matmul per part. */
export function linearPartsWeightGradApart(rt: Runtime, dys: readonly View[], x: View): GpuStorage[] {
  return dys.map((dy) => matmul(rt, transposedView(dy), x, []));
}
