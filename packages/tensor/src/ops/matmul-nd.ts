/**
 * The batched matrix product kernel call and its backward rule, shared by matmul and the row-folded product of
 * linear layers (linear.ts).
 *
 * @module
 */
import type { View } from '../backend/backend.js';
import { broadcastShapes, expandStrides, fmt } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';
import { transpose } from './transpose.js';

/** a [..., M, K] viewed with its batch axes broadcast to `batch` (stride 0, no copy). */
function batchView(t: Tensor, batch: readonly number[]): View {
  const r = t.shape.length;
  const strides = expandStrides('matmul', t.shape.slice(0, -2), t.strides.slice(0, -2), batch);
  return {
    storage: t.storage,
    shape: [...batch, t.shape[r - 2]!, t.shape[r - 1]!],
    strides: [...strides, t.strides[r - 2]!, t.strides[r - 1]!],
    offset: t.offset,
  };
}

/** True for a 2-D operand in column-major layout (a transpose of a contiguous matrix). */
function isTransposed2d(t: Tensor): boolean {
  return (
    t.shape.length === 2 && t.shape[0]! > 1 && t.shape[1]! > 1 && t.strides[0] === 1 && t.strides[1] === t.shape[0]
  );
}

/**
 * The ≥2-D core of matmul: [...A, M, K] @ [...B, K, N] → [...broadcast(A, B), M, N]. No dtype checks (callers do
 * them); backward returns each operand's gradient in the broadcast batch shape, and the backward pass sums it down.
 */
export function matmulNd(a: Tensor, b: Tensor): Tensor {
  const backend = backendOfAnyDtype('matmul', a, b);
  const K = a.shape[a.shape.length - 1]!;
  if (b.shape[b.shape.length - 2] !== K) {
    throw new Error(`matmul: inner dimensions differ, ${fmt(a.shape)} @ ${fmt(b.shape)} (${K} vs ${b.shape.at(-2)})`);
  }
  const batch =
    a.shape.length === 2 && b.shape.length === 2
      ? []
      : broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const M = a.shape[a.shape.length - 2]!;
  const N = b.shape[b.shape.length - 1]!;
  const y = Tensor.fromStorage(backend.matmul(batchView(a, batch), batchView(b, batch), batch), backend, [
    ...batch,
    M,
    N,
  ]);
  return record(
    'matmul',
    [a, b],
    y,
    (g, [a, b], needs) => [
      // dA = g·bᵀ and dB = aᵀ·g. A 2-D operand stored transposed (x.transpose(0, 1) of a [N, K] weight, the usual
      // Linear layout) gets its gradient computed as (bᵀ-side product)ᵀ, in the same layout, so it reaches the
      // weight as a contiguous view with no copy.
      needs[0]
        ? isTransposed2d(a!)
          ? transpose(matmulNd(b!, transpose(g, -1, -2)), -1, -2)
          : matmulNd(g, transpose(b!, -1, -2))
        : null,
      needs[1]
        ? isTransposed2d(b!)
          ? transpose(matmulNd(transpose(g, -1, -2), a!), -1, -2)
          : matmulNd(transpose(a!, -1, -2), g)
        : null,
    ],
    [a, b],
  );
}
