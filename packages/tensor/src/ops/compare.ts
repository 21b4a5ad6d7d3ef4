/**
 * Comparisons, elementwise with broadcasting: 1 where true, 0 where false (float32, or int32 when both inputs are
 * int32). They have no gradient. The six live in one file because they are one op with six predicates.
 *
 * @module
 */
import type { Operand, Tensor } from '../tensor.js';
import { binaryOp } from './binary-op.js';

/** a == b as 0/1. */
export function eq(a: Operand, b: Operand): Tensor {
  return binaryOp('eq', a, b, null);
}
/** a != b as 0/1. */
export function ne(a: Operand, b: Operand): Tensor {
  return binaryOp('ne', a, b, null);
}
/** a < b as 0/1. */
export function lt(a: Operand, b: Operand): Tensor {
  return binaryOp('lt', a, b, null);
}
/** a <= b as 0/1. */
export function le(a: Operand, b: Operand): Tensor {
  return binaryOp('le', a, b, null);
}
/** a > b as 0/1. */
export function gt(a: Operand, b: Operand): Tensor {
  return binaryOp('gt', a, b, null);
}
/** a >= b as 0/1. */
export function ge(a: Operand, b: Operand): Tensor {
  return binaryOp('ge', a, b, null);
}
