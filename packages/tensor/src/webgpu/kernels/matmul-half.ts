/**
 * Operand code of matmul when A or B is float16 / bfloat16: each element is decoded to f32 as it is loaded, and the
 * kernel (matmul.ts's strip kernel) multiplies and accumulates in f32, so a half weight is read at 2 bytes an element
 * and never copied to float32.
 *
 * @module
 */

import { type DType, isHalf } from '../../backend/backend.js';
import type { Runtime } from '../runtime.js';
import { HALF_CODEC, halfArray, halfEnable, halfLoad, halfTag } from './half-code.js';
import type { OperandCode } from './matmul-code.js';

/** Bindings and loads for operands of dtypes `da`, `db` (at least one half) on `rt`. */
export function halfOperands(rt: Runtime, da: DType, db: DType): OperandCode {
  const bind = (binding: number, name: string, d: DType) =>
    `@group(0) @binding(${binding}) var<storage, read> ${name}: ${isHalf(d) ? halfArray(rt, d, false) : 'array<f32>'};`;
  const load = (name: string, d: DType) => (i: string) => (isHalf(d) ? halfLoad(rt, d, name, i) : `${name}[${i}]`);
  const header = [
    halfEnable(rt, [da, db]),
    '@group(0) @binding(1) var<storage, read_write> out: array<f32>;',
    bind(2, 'A', da),
    bind(3, 'B', db),
    HALF_CODEC,
  ].join('\n');
  return { key: `:${da}${halfTag(rt, da)}:${db}${halfTag(rt, db)}`, header, a: load('A', da), b: load('B', db) };
}
