/**
 * Host-side shape arithmetic of the WebGPU kernels: dimension collapsing and the rank limit of strided shaders.
 * Sizes, strides and contiguity tests are the package's shared ones in shape.ts.
 *
 * @module
 */

/** Largest rank a strided kernel indexes directly (after collapsing). */
export const MAX_RANK = 6;

/**
 * Drops size-1 dims and merges neighbours that are contiguous in every operand, so most elementwise work indexes a
 * rank-1 or rank-2 space. Returns at least one dim.
 */
export function collapse(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((st, j) => outStrides[j]![last] === st[d]! * n)) {
      outShape[last] = outShape[last]! * n;
      strides.forEach((st, j) => {
        outStrides[j]![last] = st[d]!;
      });
      continue;
    }
    outShape.push(n);
    strides.forEach((st, j) => {
      outStrides[j]!.push(st[d]!);
    });
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/** Throws a descriptive error when a collapsed rank exceeds what the kernels index. */
export function checkRank(op: string, shape: readonly number[]): void {
  if (shape.length > MAX_RANK) {
    throw new Error(`webgpu.${op}: shape [${shape.join(', ')}] has more than ${MAX_RANK} non-mergeable dims`);
  }
}
