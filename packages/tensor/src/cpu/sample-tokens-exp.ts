/**
 * A float64 `exp` for the sampling weights, several times cheaper than `Math.exp` (a V8 runtime call), and the bound
 * on the difference it makes to a sum of weights. The CPU `sampleTokens` kernel draws with these weights only when the
 * bound proves that `Math.exp` weights would pick the same token, and redoes the row with `Math.exp` otherwise.
 *
 * @module
 */

/**
 * Weights exp(z) with z below this are 0: float32 on a GPU underflows near exp(-87) where float64 would not, and a
 * token of relative weight e^-80 (~1e-35) is never drawn in practice; flushing on every backend keeps them equal.
 */
export const MIN_EXPONENT = -80;

// z = k · ln2/64 + r, |r| ≤ ln2/128: exp(z) = 2^(k/64) · exp(r), 2^(k/64) from a table, exp(r) a short polynomial.
const STEPS_PER_LN2 = 64 / Math.LN2;
// Adding and subtracting 1.5 · 2^52 rounds a float64 below 2^51 to an integer (Math.round costs a runtime call).
const ROUND = 6755399441055744;
// ln2/64 split as fdlibm splits ln 2: STEP_HI has 32 trailing zero bits, so k · STEP_HI is exact for |k| < 2^21.
const STEP_HI = 6.9314718036912382e-1 / 64;
const STEP_LO = 1.9082149292705877e-10 / 64;
// 1 / n! for n = 2…5.
const C2 = 0.5;
const C3 = 1.6666666666666666e-1;
const C4 = 4.1666666666666664e-2;
const C5 = 8.333333333333333e-3;
/** The most negative k: z ≥ MIN_EXPONENT (-80) gives k ≥ -80 · 64 / ln2 > -7387. */
const K_MIN = -7400;
/** 2^(k/64) at index k − K_MIN, for k in [K_MIN, 0] (60 KB, within `Math.pow`'s 1 ulp). */
const POW2 = Float64Array.from({ length: 1 - K_MIN }, (_, i) => 2 ** ((i + K_MIN) / 64));

/**
 * Bound on |fastExp(z) / exp(z) − 1| over [-80, 0]: the degree-5 Taylor polynomial's remainder on |r| ≤ ln2/128 is
 * below 0.0055^6 / 6! < 4e-17, Horner's rounding under 6 ulps (7e-16), the table's and the product's under 1 ulp each,
 * reducing r under 1e-16; the bound leaves a factor of 40 on top, and `Math.exp`'s own error (< 1 ulp) is inside it.
 */
export const FAST_EXP_ERROR = 5e-14;

/** exp(z) for z in [-80, 0] within {@link FAST_EXP_ERROR} (NaN for NaN; callers pass nothing else). */
export function fastExp(z: number): number {
  const k = z * STEPS_PER_LN2 + ROUND - ROUND;
  const r = z - k * STEP_HI - k * STEP_LO;
  const p = 1 + r * (1 + r * (C2 + r * (C3 + r * (C4 + r * C5))));
  return p * POW2[(k | 0) - K_MIN]!;
}

/**
 * How far apart two float64 sums of the same n weights may be when one uses `Math.exp` and the other {@link fastExp}
 * (or weights within `expError` of `Math.exp`'s), as a fraction of the total weight: each term differs by at most
 * `expError` relatively, and each sum's rounding (in any order: the terms are positive) by at most (n + 1) · 2^-53 of
 * the total. Comparisons between such a sum and a fraction of the total are decided by the fast weights only when
 * they clear twice this (both sides move).
 */
export function sumErrorBound(n: number, expError = FAST_EXP_ERROR): number {
  return 2.5 * (expError + 2 * (n + 2) * 2 ** -53);
}

/**
 * Bounds [lo, hi] on `logSumExp(x)` (float64 with `Math.exp`) from one pass of {@link fastExp}, or null when a logit
 * is NaN or none is finite. Terms below e^-80 are left out (at most n · e^-80 of a sum that is at least 1); the sum's
 * error bound is doubled before the log, which covers `Math.log`'s own rounding (its result moves by about the bound,
 * far more than an ulp).
 */
export function logSumExpBounds(x: Float32Array): [number, number] | null {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  if (!Number.isFinite(m)) return null;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const z = x[i]! - m;
    s += z < -80 ? 0 : fastExp(z);
  }
  if (!Number.isFinite(s)) return null;
  const e = 2 * sumErrorBound(x.length) + 1e-30;
  return [m + Math.log(s * (1 - e)), m + Math.log(s * (1 + e))];
}
