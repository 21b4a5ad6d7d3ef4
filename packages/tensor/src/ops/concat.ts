import { fmt, normAxis, sizeOf, stridesOf } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { backendOfAnyDtype } from './inputs.js';
import { slice } from './slice.js';

/** Joins tensors along an existing axis; all other axes must match. Written with the backend's copyInto. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const backend = backendOfAnyDtype('concat', ...tensors);
  const first = tensors[0]!;
  const a = normAxis('concat', axis, first.shape.length, first.shape);
  for (const t of tensors) {
    if (t.dtype !== first.dtype)
      throw new Error(`concat: dtype mismatch, ${first.dtype} vs ${t.dtype} ${fmt(t.shape)}`);
    if (t.shape.length !== first.shape.length || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${tensors.map((x) => fmt(x.shape)).join(', ')} differ off axis ${a}`);
    }
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((n, t) => n + t.shape[a]!, 0);
  const strides = stridesOf(shape);
  const out = backend.alloc(first.dtype, sizeOf(shape));
  let start = 0;
  for (const t of tensors) {
    backend.copyInto({ storage: out, shape: t.shape, strides, offset: start * strides[a]! }, t);
    start += t.shape[a]!;
  }
  const y = Tensor.fromStorage(out, backend, shape);
  const lengths = tensors.map((t) => t.shape[a]!);
  return record('concat', tensors, y, (g, _s, needs) => {
    let offset = 0;
    return lengths.map((n, i) => {
      const part = needs[i] ? slice(g, a, offset, offset + n) : null;
      offset += n;
      return part;
    });
  });
}
