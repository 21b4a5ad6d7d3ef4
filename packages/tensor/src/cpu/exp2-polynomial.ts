/**
 * 2^f on [−1/2, 1/2] as the SIMD sampling kernels evaluate it (wasm-sampling.ts): polynomials interpolating 2^f at
 * Chebyshev nodes, in float32 (degree 6) and float64 (degree 7), and bounds on their relative error as evaluated
 * by Horner's rule in that precision, computed from the coefficients.
 *
 * @module
 */

/**
 * Monomial coefficients (constant first) of the polynomial interpolating 2^f at the degree + 1 Chebyshev nodes of
 * [−1/2, 1/2] (Newton's divided differences, expanded), in float64.
 */
function chebyshevExp2(degree: number): number[] {
  const nodes = Array.from(
    { length: degree + 1 },
    (_, k) => 0.5 * Math.cos(((2 * k + 1) * Math.PI) / (2 * degree + 2)),
  );
  const dd = nodes.map((x) => 2 ** x);
  for (let j = 1; j <= degree; j++) {
    for (let i = degree; i >= j; i--) dd[i] = (dd[i]! - dd[i - 1]!) / (nodes[i]! - nodes[i - j]!);
  }
  let poly = [dd[degree]!];
  for (let i = degree - 1; i >= 0; i--) {
    const next = new Array<number>(poly.length + 1).fill(0);
    for (let k = 0; k < poly.length; k++) {
      next[k + 1]! += poly[k]!;
      next[k]! -= poly[k]! * nodes[i]!;
    }
    next[0]! += dd[i]!;
    poly = next;
  }
  return poly;
}

/**
 * Bound on |p(f)/2^f − 1| for Horner's evaluation p of `coefficients` (the interpolant `exact`, rounded) with unit
 * roundoff u, f in [−1/2, 1/2]:
 * - interpolation at Chebyshev nodes, degree d: |2^f − P(f)| ≤ max|2^f⁽ᵈ⁺¹⁾| / ((d + 1)!·2^d) · (1/2)^(d+1), with
 *   max|2^f⁽ᵈ⁺¹⁾| = ln2^(d+1)·√2;
 * - rounding the coefficients: Σ |c_k − exact_k|·2^-k (plus 1e-15 for the float64 expansion);
 * - Horner's rounding, s_k = fl(c_k + fl(f·s_{k+1})) (a fused multiply-add rounds once: less): its error
 *   e_k ≤ |f|·(e_{k+1} + u·S_{k+1})·(1 + u) + u·S_k, S_k = Σ_{j ≥ k} |c_j|·2^(k−j) bounding |s_k|;
 * all divided by min 2^f = 2^-1/2, with 1 % on top for the products of these small terms.
 */
function exp2ErrorBound(coefficients: readonly number[], exact: readonly number[], u: number): number {
  const h = 0.5;
  const degree = coefficients.length - 1;
  let factorial = 1;
  for (let k = 2; k <= degree + 1; k++) factorial *= k;
  const interpolation = (Math.LN2 ** (degree + 1) * Math.SQRT2 * h ** (degree + 1)) / (factorial * 2 ** degree);
  let rounding = 1e-15;
  for (let k = 0; k <= degree; k++) rounding += Math.abs(coefficients[k]! - exact[k]!) * h ** k;
  const bound = (k: number) => coefficients.slice(k).reduce((s, c, j) => s + Math.abs(c) * h ** j, 0);
  let e = 0;
  for (let k = degree - 1; k >= 0; k--) e = h * (e + u * bound(k + 1)) * (1 + u) + u * bound(k);
  return ((interpolation + rounding + e) / Math.SQRT1_2) * 1.01;
}

const EXACT_32 = chebyshevExp2(6);
/** The float32 kernel's 2^f coefficients (degree 6, float32 values), constant first. */
export const EXP2_COEFFICIENTS = EXACT_32.map(Math.fround);
/** Relative error bound of the float32 kernel's 2^f (~2.3e-7; see {@link exp2ErrorBound}). */
export const EXP2_ERROR = exp2ErrorBound(EXP2_COEFFICIENTS, EXACT_32, 2 ** -24);

/** The float64 kernel's 2^f coefficients (degree 7), constant first. */
export const EXP2_64_COEFFICIENTS = chebyshevExp2(7);
/** Relative error bound of the float64 kernel's 2^f (~8e-11, nearly all interpolation). */
export const EXP2_64_ERROR = exp2ErrorBound(EXP2_64_COEFFICIENTS, EXP2_64_COEFFICIENTS, 2 ** -53);
