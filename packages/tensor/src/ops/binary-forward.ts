import type { BinaryOp, View } from '../backend/backend.js';
import { broadcastShapes, expandStrides, fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { backendOf } from './inputs.js';

/** `t` viewed at `shape` with stride 0 on broadcast axes (no copy). */
export function broadcastView(op: string, t: Tensor, shape: readonly number[]): View {
  return { storage: t.storage, shape, strides: expandStrides(op, t.shape, t.strides, shape), offset: t.offset };
}

/** Runs a broadcasting binary kernel (no autograd). Both operands must share a dtype. */
export function binaryForward(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const backend = backendOf(op, a, b);
  if (a.dtype !== b.dtype) {
    throw new Error(`${op}: dtype mismatch, ${a.dtype} ${fmt(a.shape)} vs ${b.dtype} ${fmt(b.shape)}`);
  }
  const outShape = broadcastShapes(op, a.shape, b.shape);
  const storage = backend.binary(op, broadcastView(op, a, outShape), broadcastView(op, b, outShape), outShape);
  return Tensor.fromStorage(storage, backend, outShape);
}
