/**
 * Input checks and small constructors shared by the ops: liveness, one backend, dtypes, scalar operands.
 *
 * @module
 */
import { type Backend, type DType, isHalf } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { fmt, sizeOf } from '../shape.js';
import { type Operand, Tensor } from '../tensor.js';

/**
 * Checks every tensor is live, on one backend and not float16 / bfloat16; returns that backend. Errors name `op` and
 * the shapes. Half tensors are storage formats: only matmul, linear, casts, views and copies take them (those ops
 * call {@link backendOfAnyDtype}).
 */
export function backendOf(op: string, ...tensors: Tensor[]): Backend {
  const backend = backendOfAnyDtype(op, ...tensors);
  for (const t of tensors) {
    if (isHalf(t.dtype)) {
      throw new Error(
        `${op}: got a ${t.dtype} tensor ${fmt(t.shape)}, but ${op} computes in float32; cast it first with ` +
          `.float() (only matmul, linear, casts, views, copies and the paged KV pools take ${t.dtype} tensors)`,
      );
    }
  }
  return backend;
}

/** {@link backendOf} for the ops that also take float16 / bfloat16 tensors (matmul, casts, views, copies). */
export function backendOfAnyDtype(op: string, ...tensors: Tensor[]): Backend {
  for (const t of tensors) t.assertLive(op);
  const backend = tensors[0]!.backend;
  for (const t of tensors) {
    if (t.backend !== backend) {
      throw new Error(
        `${op}: tensors on different backends ('${backend.name}' ${fmt(tensors[0]!.shape)} and '${t.backend.name}' ` +
          `${fmt(t.shape)}); create them on one backend`,
      );
    }
  }
  return backend;
}

/** Throws unless `t` has dtype `dtype`. */
export function requireDtype(op: string, t: Tensor, dtype: DType, what = 'input'): void {
  if (t.dtype !== dtype) throw new Error(`${op}: ${what} must be ${dtype}, got ${t.dtype} ${fmt(t.shape)}`);
}

/** Throws unless `t` is floating point: float32, or a half type (float16 / bfloat16) for ops that decode halves. */
export function requireFloat(op: string, t: Tensor, what = 'input'): void {
  if (t.dtype !== 'float32' && !isHalf(t.dtype)) {
    throw new Error(`${op}: ${what} must be float32, float16 or bfloat16, got ${t.dtype} ${fmt(t.shape)}`);
  }
}

/** A new tensor of `shape` filled with `value` on `backend`. */
export function filled(backend: Backend, dtype: DType, shape: readonly number[], value: number): Tensor {
  return Tensor.fromStorage(backend.fill(dtype, sizeOf(shape), value), backend, shape);
}

/**
 * Turns a (Tensor | number) pair into two tensors; a number becomes a 0-d tensor with the other operand's dtype on its
 * backend. `temps` receives the tensors created here so the caller can dispose them.
 */
export function operands(op: string, a: Operand, b: Operand, temps: Tensor[]): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${op}: at least one operand must be a Tensor`);
  const ref = (typeof a === 'number' ? b : a) as Tensor;
  ref.assertLive(op);
  const toTensor = (x: Operand): Tensor => {
    if (typeof x !== 'number') return x;
    if (ref.dtype === 'int32' && !Number.isInteger(x)) {
      throw new Error(
        `${op}: number ${x} is not an integer but the tensor ${fmt(ref.shape)} is int32 (convert with .float())`,
      );
    }
    const t = filled(ref.backend, ref.dtype, [], x);
    temps.push(t);
    return t;
  };
  return [toTensor(a), toTensor(b)];
}

/** The backend new tensors are created on. */
export function currentBackend(): Backend {
  return getBackend();
}
