/**
 * Chinchilla's approach 2 (Hoffmann et al. 2022, §3.2): for each compute budget C, train several model sizes with
 * D = C/(6N), fit a parabola to loss against log N, and take its vertex as the loss-optimal N for that budget; then fit
 * the power laws N_opt ∝ C^a and D_opt ∝ C^b through the minima.
 *
 * @module
 */
import type { LossPoint } from './parametric-fit.js';

/** Points that share one compute budget. */
export interface BudgetGroup {
  /** The group's budget: the geometric mean of 6·N·D over its points. */
  flops: number;
  points: LossPoint[];
}

/**
 * Groups points by compute budget 6·N·D: sorted by C, a point joins the previous group while its C is within a factor
 * `tolerance` of the group's first (run lengths are whole optimizer steps, so C is never exactly the nominal budget).
 */
export function groupByBudget(points: readonly LossPoint[], tolerance = 1.15): BudgetGroup[] {
  const sorted = [...points].sort((p, q) => p.params * p.tokens - q.params * q.tokens);
  const groups: LossPoint[][] = [];
  for (const p of sorted) {
    const last = groups.at(-1);
    if (last && p.params * p.tokens <= last[0]!.params * last[0]!.tokens * tolerance) last.push(p);
    else groups.push([p]);
  }
  return groups.map((g) => ({
    flops: Math.exp(g.reduce((s, p) => s + Math.log(6 * p.params * p.tokens), 0) / g.length),
    points: g.sort((p, q) => p.params - q.params),
  }));
}

/** Least-squares polynomial fit of degree 1 or 2: coefficients [c0, c1, (c2)] of c0 + c1·x + c2·x². */
export function polyfit(xs: readonly number[], ys: readonly number[], degree: 1 | 2): number[] {
  const k = degree + 1;
  if (xs.length < k) throw new Error(`polyfit: degree ${degree} needs at least ${k} points, got ${xs.length}`);
  // Normal equations on x centred at its mean (well conditioned for log-scale inputs), solved by Gaussian elimination.
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const m = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]! - mean;
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < k; c++) m[r]![c]! += x ** (r + c);
      m[r]![k]! += ys[i]! * x ** r;
    }
  }
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    if (Math.abs(m[col]![col]!) < 1e-300) throw new Error('polyfit: the points do not determine the polynomial');
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / m[col]![col]!;
      for (let c = col; c <= k; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  const centred = m.map((row, r) => row[k]! / row[r]!);
  // Expand c(x − mean) back to powers of x.
  if (degree === 1) return [centred[0]! - centred[1]! * mean, centred[1]!];
  const [a, b, c] = centred as [number, number, number];
  return [a - b * mean + c * mean * mean, b - 2 * c * mean, c];
}

/** The loss-optimal model of one budget. */
export interface IsoflopMinimum {
  /** Budget C in FLOPs. */
  flops: number;
  /** Vertex of the parabola: N_opt(C). */
  params: number;
  /** D_opt = C / (6·N_opt). */
  tokens: number;
  /** D_opt / N_opt. */
  tokensPerParameter: number;
  /** The parabola's loss at its vertex. */
  loss: number;
  /** Parabola loss = c0 + c1·ln N + c2·(ln N)². */
  parabola: [number, number, number];
  /** True when the vertex lies outside the measured sizes (the optimum was extrapolated, not bracketed). */
  extrapolated: boolean;
}

/**
 * The IsoFLOP minimum of each budget group with at least 3 sizes whose parabola opens upwards; other groups are
 * skipped (they carry no minimum).
 */
export function isoflopMinima(groups: readonly BudgetGroup[]): IsoflopMinimum[] {
  const out: IsoflopMinimum[] = [];
  for (const group of groups) {
    const sizes = new Set(group.points.map((p) => p.params));
    if (sizes.size < 3) continue;
    const xs = group.points.map((p) => Math.log(p.params));
    const [c0, c1, c2] = polyfit(
      xs,
      group.points.map((p) => p.loss),
      2,
    ) as [number, number, number];
    if (!(c2 > 0)) continue;
    const x = -c1 / (2 * c2);
    const params = Math.exp(x);
    const tokens = group.flops / (6 * params);
    out.push({
      flops: group.flops,
      params,
      tokens,
      tokensPerParameter: tokens / params,
      loss: c0 + c1 * x + c2 * x * x,
      parabola: [c0, c1, c2],
      extrapolated: x < Math.min(...xs) || x > Math.max(...xs),
    });
  }
  return out;
}

/** y = k·x^exponent, fitted by least squares in log-log space. */
export interface PowerLaw {
  k: number;
  exponent: number;
}

/** Fits y = k·x^e through positive points in log-log space (needs two distinct x). */
export function fitPowerLaw(xs: readonly number[], ys: readonly number[]): PowerLaw {
  const [c0, c1] = polyfit(xs.map(Math.log), ys.map(Math.log), 1) as [number, number];
  return { k: Math.exp(c0), exponent: c1 };
}

/** Approach 2's frontier: N_opt(C) = kN·C^a and D_opt(C) = kD·C^b through the IsoFLOP minima. */
export interface IsoflopFrontier {
  params: PowerLaw;
  tokens: PowerLaw;
}

/** Fits the frontier through at least two minima; null with fewer. */
export function isoflopFrontier(minima: readonly IsoflopMinimum[]): IsoflopFrontier | null {
  if (minima.length < 2) return null;
  const flops = minima.map((m) => m.flops);
  return {
    params: fitPowerLaw(
      flops,
      minima.map((m) => m.params),
    ),
    tokens: fitPowerLaw(
      flops,
      minima.map((m) => m.tokens),
    ),
  };
}
