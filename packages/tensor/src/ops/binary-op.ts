import { type BackwardRule, record } from '../autograd.js';
import type { BinaryOp } from '../backend/backend.js';
import type { Operand, Tensor } from '../tensor.js';
import { binaryForward } from './binary-forward.js';
import { operands } from './inputs.js';

/**
 * A broadcasting binary op: converts number operands, runs the kernel and records `rule` with the tensors chosen by
 * `save(a, b, out)`. The rule receives the input shapes through its closure.
 */
export function binaryOp(
  op: BinaryOp,
  a: Operand,
  b: Operand,
  makeRule: ((aShape: readonly number[], bShape: readonly number[]) => BackwardRule) | null,
  save: (a: Tensor, b: Tensor, out: Tensor) => Tensor[] = () => [],
): Tensor {
  const temps: Tensor[] = [];
  const [ta, tb] = operands(op, a, b, temps);
  try {
    const y = binaryForward(op, ta, tb);
    return makeRule ? record(op, [ta, tb], y, makeRule(ta.shape, tb.shape), save(ta, tb, y)) : y;
  } finally {
    for (const t of temps) t.dispose();
  }
}
