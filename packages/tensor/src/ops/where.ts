import { broadcastShapes, fmt } from '../shape.js';
import { record } from '../tape.js';
import { type Operand, Tensor } from '../tensor.js';
import { broadcastView } from './binary-forward.js';
import { backendOf, filled } from './inputs.js';

/**
 * cond ≠ 0 ? a : b elementwise, all three broadcast together. a or b may be numbers (taking the other's dtype).
 * Gradients flow to a and b, not to cond.
 */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const temps: Tensor[] = [];
  const ref = typeof a === 'number' ? (typeof b === 'number' ? null : b) : a;
  const backend = backendOf('where', cond, ...(ref ? [ref] : []));
  const dtype = ref?.dtype ?? 'float32';
  const lift = (x: Operand): Tensor => {
    if (typeof x !== 'number') return x;
    if (dtype === 'int32' && !Number.isInteger(x)) throw new Error(`where: number ${x} for an int32 operand`);
    const t = filled(backend, dtype, [], x);
    temps.push(t);
    return t;
  };
  const ta = lift(a);
  const tb = lift(b);
  try {
    backendOf('where', cond, ta, tb);
    if (ta.dtype !== tb.dtype) {
      throw new Error(`where: dtype mismatch, a ${ta.dtype} ${fmt(ta.shape)} vs b ${tb.dtype} ${fmt(tb.shape)}`);
    }
    const shape = broadcastShapes('where', cond.shape, ta.shape, tb.shape);
    const storage = backend.where(
      broadcastView('where', cond, shape),
      broadcastView('where', ta, shape),
      broadcastView('where', tb, shape),
      shape,
    );
    const y = Tensor.fromStorage(storage, backend, shape);
    return record(
      'where',
      [ta, tb],
      y,
      (g, [c], needs) => [needs[0] ? where(c!, g, 0) : null, needs[1] ? where(c!, 0, g) : null],
      [cond],
    );
  } finally {
    for (const t of temps) t.dispose();
  }
}
