/**
 * WGSL fragments shared by every matmul kernel (tiled, strip, GEMV, double-buffered): operand bindings, the batch
 * decoding of the uniform block, and the operand layout classification.
 *
 * @module
 */

/** Unit-stride axis of a 2-D operand: the reduction axis K, the other axis (M of a, N of b), or neither. */
export type Layout = 'k' | 'mn' | 'g';

/** Classifies an operand by its K stride and its M (or N) stride. */
export function layoutOf(sK: number, sOther: number): Layout {
  if (sK === 1) return 'k';
  if (sOther === 1) return 'mn';
  return 'g';
}

/** Output and scalar-operand bindings (1: out, 2: A, 3: B). */
export const MATMUL_BINDINGS = `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;`;

/**
 * How a kernel binds and loads its operands: `header` declares bindings 1–3 (and any helper functions), `a(i)` and
 * `b(i)` are f32 expressions of element i of A and B. float32 operands are plain arrays; half operands decode
 * (matmul-half.ts). `key` tells pipelines with different operand code apart.
 */
export interface OperandCode {
  key: string;
  header: string;
  a(index: string): string;
  b(index: string): string;
}

/** float32 operands: {@link MATMUL_BINDINGS}, direct loads. */
export const F32_OPERANDS: OperandCode = {
  key: '',
  header: MATMUL_BINDINGS,
  a: (i) => `A[${i}]`,
  b: (i) => `B[${i}]`,
};

/** WGSL setting aBase, bBase for batch index z (batch dims at words 12 + 4d: shape, a stride, b stride). */
export function batchCode(rank: number): string {
  const lines = ['  var aBase = pu(3u);', '  var bBase = pu(4u);', '  var zr = z;'];
  for (let d = rank - 1; d >= 0; d--) {
    const w = 12 + 4 * d;
    lines.push(
      `  { let cz = zr % pu(${w}u); zr = zr / pu(${w}u); aBase += cz * pu(${w + 1}u); bBase += cz * pu(${w + 2}u); }`,
    );
  }
  return lines.join('\n');
}
