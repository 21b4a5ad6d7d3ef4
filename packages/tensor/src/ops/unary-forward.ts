import type { UnaryOp } from '../backend/backend.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { backendOf } from './inputs.js';

const INT_OK = new Set<UnaryOp>(['neg', 'abs', 'sign', 'square']);

/** Runs an elementwise unary kernel (no autograd). */
export function unaryForward(op: UnaryOp, x: Tensor): Tensor {
  const backend = backendOf(op, x);
  if (x.dtype === 'int32' && !INT_OK.has(op)) throw new Error(`${op}: int32 input ${fmt(x.shape)} is not supported`);
  return Tensor.fromStorage(backend.unary(op, x), backend, x.shape);
}
