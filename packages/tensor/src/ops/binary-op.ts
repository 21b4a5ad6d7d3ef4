import type { BinaryOp } from '../backend/backend.js';
import { record } from '../tape.js';
import type { BackwardRule, Operand, Tensor } from '../tensor.js';
import { binaryForward } from './binary-forward.js';
import { operands } from './inputs.js';

/**
 * A broadcasting binary op: converts number operands, runs the kernel and records `rule` with the tensors chosen by
 * `save(a, b, out)`. The rule may return gradients in the broadcast output shape; the backward pass sums each down
 * to its operand's shape.
 */
export function binaryOp(
  op: BinaryOp,
  a: Operand,
  b: Operand,
  rule: BackwardRule | null,
  save: (a: Tensor, b: Tensor, out: Tensor) => Tensor[] = () => [],
): Tensor {
  const temps: Tensor[] = [];
  const [ta, tb] = operands(op, a, b, temps);
  try {
    const y = binaryForward(op, ta, tb);
    return rule ? record(op, [ta, tb], y, rule, save(ta, tb, y)) : y;
  } finally {
    for (const t of temps) t.dispose();
  }
}
