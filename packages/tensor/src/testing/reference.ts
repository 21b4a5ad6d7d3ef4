/**
 * Float64 reference arrays for conformance tests: plain row-major JS arrays with their own index arithmetic, so the
 * expected values never go through the code under test.
 *
 * @module
 */

import { seededUniform } from '../random/seeded-random.js';

/** A float64 n-d array: row-major `data` of `shape`. */
export interface Ref {
  shape: number[];
  data: Float64Array;
}

/** Element count of a shape. */
export function refSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A deterministic PRNG for test inputs (the repo's one host generator, `SeededRandom`): floats in [0, 1). */
export function makeRng(seed: number): () => number {
  return seededUniform(seed);
}

/** How to draw test inputs. 'normal' N(0,1); 'positive' in [0.5, 2); 'int' integers in [low, high). */
export type InputKind = 'normal' | 'positive' | 'unit' | { low: number; high: number };

/** A reference array of `shape` with values drawn by `kind`, rounded to float32 (what the device will see). */
export function randomRef(rng: () => number, shape: readonly number[], kind: InputKind = 'normal'): Ref {
  const data = new Float64Array(refSize(shape));
  for (let i = 0; i < data.length; i++) {
    let v: number;
    if (kind === 'normal') {
      v = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    } else if (kind === 'positive') {
      v = 0.5 + 1.5 * rng();
    } else if (kind === 'unit') {
      v = rng();
    } else {
      v = kind.low + Math.floor(rng() * (kind.high - kind.low));
    }
    data[i] = Math.fround(v);
  }
  return { shape: [...shape], data };
}

/** Row-major multi-index of flat index i. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/** Flat index of a multi-index. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d]! + idx[d]!;
  return f;
}

/** The element of `a` that broadcasting maps to output index `outIdx`. */
export function broadcastAt(a: Ref, outIdx: readonly number[]): number {
  const lead = outIdx.length - a.shape.length;
  const idx = a.shape.map((d, i) => (d === 1 ? 0 : outIdx[lead + i]!));
  return a.data[ravel(idx, a.shape)]!;
}

/** NumPy broadcast shape (assumed compatible). */
export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, i) => {
    const dims = shapes.map((s) => (i - rank + s.length >= 0 ? s[i - rank + s.length]! : 1));
    return dims.find((d) => d !== 1) ?? 1;
  });
}

/** Elementwise function of any number of broadcast reference arrays. */
export function refMap(f: (...v: number[]) => number, ...xs: Ref[]): Ref {
  const shape = broadcastShape(...xs.map((x) => x.shape));
  const data = new Float64Array(refSize(shape));
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape);
    data[i] = f(...xs.map((x) => broadcastAt(x, idx)));
  }
  return { shape, data };
}

/** Reduces `axes` of x with `f` over the values of each output position (keepdim false). */
export function refReduce(x: Ref, axes: readonly number[], f: (values: number[]) => number, keepdim = false): Ref {
  const norm = axes.map((a) => (a < 0 ? a + x.shape.length : a));
  const outShapeKeep = x.shape.map((d, i) => (norm.includes(i) ? 1 : d));
  const groups: number[][] = Array.from({ length: refSize(outShapeKeep) }, () => []);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    const o = ravel(
      idx.map((v, d) => (norm.includes(d) ? 0 : v)),
      outShapeKeep,
    );
    groups[o]!.push(x.data[i]!);
  }
  const shape = keepdim ? outShapeKeep : x.shape.filter((_, i) => !norm.includes(i));
  return { shape, data: Float64Array.from(groups.map(f)) };
}

/** Batched matmul with broadcast batch dims; 2-D+ operands only. */
export function refMatmul(a: Ref, b: Ref): Ref {
  const M = a.shape.at(-2)!;
  const K = a.shape.at(-1)!;
  const N = b.shape.at(-1)!;
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, M, N];
  const data = new Float64Array(refSize(shape));
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape);
    const bi = idx.slice(0, -2);
    const [m, n] = [idx.at(-2)!, idx.at(-1)!];
    let s = 0;
    for (let k = 0; k < K; k++) {
      s += broadcastAt({ shape: a.shape, data: a.data }, [...bi, m, k]) * broadcastAt(b, [...bi, k, n]);
    }
    data[i] = s;
  }
  return { shape, data };
}

/**
 * Float64 x · w for x [M, K] row-major and w either the rows of wᵀ ([N, K], a Linear weight: `wRows`) or a row-major
 * [K, N] matrix, with, per output, Σ_k |x_k·w_k|: the scale that float32 rounding error of a sum grows with.
 */
export function refProductWithMagnitude(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  M: number,
  K: number,
  N: number,
  wRows = true,
): { want: Float64Array; magnitude: Float64Array } {
  const want = new Float64Array(M * N);
  const magnitude = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      let m = 0;
      for (let k = 0; k < K; k++) {
        const p = x[i * K + k]! * (wRows ? w[j * K + k]! : w[k * N + j]!);
        s += p;
        m += Math.abs(p);
      }
      want[i * N + j] = s;
      magnitude[i * N + j] = m;
    }
  }
  return { want, magnitude };
}

/** Largest violation of |actual − expected| ≤ atol + rtol·|expected|, with its index (−1 when within tolerance). */
export function worstMismatch(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
): { index: number; actual: number; expected: number } {
  let worst = { index: -1, actual: 0, expected: 0 };
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (Number.isNaN(excess) || excess > worstExcess) {
      worstExcess = Number.isNaN(excess) ? Number.POSITIVE_INFINITY : excess;
      worst = { index: i, actual: a, expected: e };
    }
  }
  return worst;
}
