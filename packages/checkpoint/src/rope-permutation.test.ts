import { describe, expect, it } from 'vitest';
import { permuteForHalfRope, permuteForInterleavedRope } from './rope-permutation.js';

function random(n: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

/** PyTorch's w.view(heads, headDim/2, 2, dim).transpose(1, 2).reshape(rows, dim), by explicit strides. */
function torchPermute(w: Float64Array, heads: number, rows: number, dim: number): Float64Array {
  const half = rows / heads / 2;
  const out = new Float64Array(rows * dim);
  // Output index (h, j, i, c) of the transposed view reads input index (h, i, j, c) of the 4-D view.
  let o = 0;
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < 2; j++)
      for (let i = 0; i < half; i++) for (let c = 0; c < dim; c++) out[o++] = w[((h * half + i) * 2 + j) * dim + c]!;
  return out;
}

/** Rotary embedding of one head vector at position p, in float64. */
function rotate(q: Float64Array, p: number, layout: 'half' | 'interleaved', theta = 10000): Float64Array {
  const d = q.length;
  const out = new Float64Array(d);
  for (let i = 0; i < d / 2; i++) {
    const angle = p * theta ** ((-2 * i) / d);
    const [a, b] = layout === 'half' ? [i, i + d / 2] : [2 * i, 2 * i + 1];
    out[a] = q[a]! * Math.cos(angle) - q[b]! * Math.sin(angle);
    out[b] = q[a]! * Math.sin(angle) + q[b]! * Math.cos(angle);
  }
  return out;
}

describe('permuteForHalfRope', () => {
  it.each([
    [1, 2, 3],
    [4, 8, 5],
    [3, 6, 7],
    [2, 16, 1],
  ])('matches the HF conversion script (heads %i, headDim %i, dim %i) and inverts', (heads, headDim, dim) => {
    const rows = heads * headDim;
    const w = random(rows * dim, heads * 31 + headDim);
    const half = permuteForHalfRope({ shape: [rows, dim], data: w }, heads);
    expect(Array.from(half.data)).toEqual(Array.from(torchPermute(w, heads, rows, dim)));
    expect(half.shape).toEqual([rows, dim]);
    const back = permuteForInterleavedRope(half, heads);
    expect(Array.from(back.data)).toEqual(Array.from(w));
    expect(back.data).toBeInstanceOf(Float64Array);
  });

  it('makes half-rotation RoPE on the permuted projection equal interleaved RoPE on the original', () => {
    const heads = 3;
    const headDim = 8;
    const dim = 5;
    const rows = heads * headDim;
    const w = random(rows * dim, 7);
    const x = random(dim, 8);
    const wHalf = permuteForHalfRope({ shape: [rows, dim], data: w }, heads).data;
    const project = (m: Float64Array) =>
      Float64Array.from({ length: rows }, (_, r) => x.reduce((s, xc, c) => s + m[r * dim + c]! * xc, 0));
    const qInt = project(w);
    const qHalf = project(wHalf);
    for (const p of [0, 1, 5, 37]) {
      for (let h = 0; h < heads; h++) {
        const ri = rotate(qInt.subarray(h * headDim, (h + 1) * headDim), p, 'interleaved');
        const rh = rotate(qHalf.subarray(h * headDim, (h + 1) * headDim), p, 'half');
        // Same rotated vector up to the same row permutation: element 2i+j ↔ j·headDim/2 + i.
        for (let i = 0; i < headDim / 2; i++) {
          for (let j = 0; j < 2; j++) expect(rh[j * (headDim / 2) + i]!).toBeCloseTo(ri[2 * i + j]!, 12);
        }
      }
    }
    // Dot products of q and k after rotation (what attention sees) are therefore identical.
  });

  it('rejects shapes that do not split into heads of even size', () => {
    expect(() => permuteForHalfRope({ shape: [6, 2], data: new Float32Array(12) }, 2)).toThrow(
      /6 rows do not split into 2 heads of even size/,
    );
    expect(() => permuteForHalfRope({ shape: [8], data: new Float32Array(8) }, 2)).toThrow(/must be 2-D/);
    expect(() => permuteForInterleavedRope({ shape: [4, 2], data: new Float32Array(7) }, 1)).toThrow(/7 elements/);
  });
});
