/*
 * Rotary layouts. Meta's LLaMA code rotates interleaved pairs (2i, 2i+1) of each head; Hugging Face's
 * rotates halves (i, i + headDim/2). Its conversion script therefore permutes the rows of q_proj and
 * k_proj per head: w.view(heads, headDim/2, 2, dim).transpose(1, 2).reshape(heads·headDim, dim).
 * Row h·headDim + 2i + j (interleaved) becomes row h·headDim + j·headDim/2 + i (half).
 */

import type { HostTypedArray } from './dtypes.js';

/** A row-major matrix with any element type (F16/BF16 as raw bits work too). */
export interface RowMatrix<T extends HostTypedArray> {
  /** `[rows, cols]` = `[heads · headDim, dim]`. */
  shape: readonly number[];
  /** Row-major elements. */
  data: T;
}

function permuteRows<T extends HostTypedArray>(
  weight: RowMatrix<T>,
  heads: number,
  toHalf: boolean,
  op: string,
): RowMatrix<T> {
  if (weight.shape.length !== 2)
    throw new Error(`${op}: weight must be 2-D [heads*headDim, dim], got [${weight.shape.join(', ')}]`);
  const [rows, cols] = weight.shape as [number, number];
  if (!Number.isInteger(heads) || heads < 1 || rows % heads !== 0 || (rows / heads) % 2 !== 0) {
    throw new Error(`${op}: ${rows} rows do not split into ${heads} heads of even size`);
  }
  if (weight.data.length !== rows * cols) {
    throw new Error(`${op}: data has ${weight.data.length} elements for shape [${rows}, ${cols}]`);
  }
  const headDim = rows / heads;
  const half = headDim / 2;
  const Ctor = (weight.data as unknown as { constructor: new (n: number) => T }).constructor;
  const out = new Ctor(rows * cols);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const interleavedRow = h * headDim + 2 * i + j;
        const halfRow = h * headDim + j * half + i;
        const [from, to] = toHalf ? [interleavedRow, halfRow] : [halfRow, interleavedRow];
        (out as Float32Array).set(weight.data.subarray(from * cols, (from + 1) * cols) as Float32Array, to * cols);
      }
    }
  }
  return { shape: [rows, cols], data: out };
}

/**
 * Converts a q_proj/k_proj weight `[heads·headDim, dim]` from the interleaved rotary layout (Meta,
 * GGUF) to Hugging Face's half-rotation layout: the permutation of HF's conversion script.
 *
 * @param heads `num_attention_heads` for q_proj, `num_key_value_heads` for k_proj.
 */
export function permuteForHalfRope<T extends HostTypedArray>(weight: RowMatrix<T>, heads: number): RowMatrix<T> {
  return permuteRows(weight, heads, true, 'permuteForHalfRope');
}

/** Inverse of {@link permuteForHalfRope}: Hugging Face half-rotation layout → interleaved layout. */
export function permuteForInterleavedRope<T extends HostTypedArray>(weight: RowMatrix<T>, heads: number): RowMatrix<T> {
  return permuteRows(weight, heads, false, 'permuteForInterleavedRope');
}
