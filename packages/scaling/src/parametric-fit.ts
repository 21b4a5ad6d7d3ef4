/**
 * Chinchilla's approach 3 (Hoffmann et al. 2022, §3.3 and appendix D.2): fit L(N, D) = E + A/N^α + B/D^β to measured
 * final losses by minimising the Huber loss (δ = 10⁻³) between the log of the prediction and the log of the
 * measurement, with L-BFGS started from a grid of initialisations. The prediction is written in log-sum-exp form,
 * log L̂ = LSE(a − α·log N, b − β·log D, e) with A = eᵃ, B = eᵇ, E = eᵉ, which keeps A, B, E positive and the
 * objective smooth in all five parameters.
 *
 * @module
 */

import type { ScalingLaw } from './law.js';
import { lbfgs } from './lbfgs.js';

/** One measured run: parameters N, training tokens D, final (validation) loss in nats per token. */
export interface LossPoint {
  params: number;
  tokens: number;
  loss: number;
}

/** Parameter vector of the objective: [a, b, e, α, β] with A = eᵃ, B = eᵇ, E = eᵉ. */
export type LogLawParameters = [a: number, b: number, e: number, alpha: number, beta: number];

/** Options of {@link fitScalingLaw}. */
export interface FitOptions {
  /** Huber threshold on log residuals. Default 1e-3 (Chinchilla's). */
  delta?: number;
  /** Start points; default {@link chinchillaInitialisationGrid}. */
  starts?: readonly LogLawParameters[];
  /** L-BFGS runs from the starts with the lowest initial objective (all starts are evaluated once). Default 64. */
  bestStarts?: number;
}

/** What {@link fitScalingLaw} returns. */
export interface ScalingLawFit extends ScalingLaw {
  /** The minimised objective: the sum over points of Huber(log L̂ − log L). */
  objective: number;
  /** Points fitted. */
  points: number;
}

/** The Huber loss of a residual: r²/2 inside ±δ, δ·(|r| − δ/2) outside. */
export function huber(residual: number, delta: number): number {
  const r = Math.abs(residual);
  return r <= delta ? 0.5 * r * r : delta * (r - 0.5 * delta);
}

/** d Huber / d residual. */
export function huberDerivative(residual: number, delta: number): number {
  return Math.abs(residual) <= delta ? residual : delta * Math.sign(residual);
}

/**
 * The approach-3 objective Σᵢ Huber_δ(LSE(a − α·log Nᵢ, b − β·log Dᵢ, e) − log Lᵢ) and its gradient with respect to
 * [a, b, e, α, β]. With softmax weights w of the three LSE terms, ∂r/∂a = w₁, ∂r/∂α = −w₁·log N, ∂r/∂b = w₂,
 * ∂r/∂β = −w₂·log D, ∂r/∂e = w₃.
 */
export function huberLogObjective(
  points: readonly LossPoint[],
  delta = 1e-3,
): (x: Float64Array, grad: Float64Array) => number {
  const logN = points.map((p) => Math.log(p.params));
  const logD = points.map((p) => Math.log(p.tokens));
  const logL = points.map((p) => Math.log(p.loss));
  return (x, grad) => {
    const [a, b, e, alpha, beta] = x as unknown as LogLawParameters;
    grad.fill(0);
    let total = 0;
    for (let i = 0; i < logN.length; i++) {
      const u1 = a - alpha * logN[i]!;
      const u2 = b - beta * logD[i]!;
      const u3 = e;
      const m = Math.max(u1, u2, u3);
      const x1 = Math.exp(u1 - m);
      const x2 = Math.exp(u2 - m);
      const x3 = Math.exp(u3 - m);
      const sum = x1 + x2 + x3;
      const r = m + Math.log(sum) - logL[i]!;
      total += huber(r, delta);
      const h = huberDerivative(r, delta) / sum;
      grad[0] = grad[0]! + h * x1;
      grad[1] = grad[1]! + h * x2;
      grad[2] = grad[2]! + h * x3;
      grad[3] = grad[3]! - h * x1 * logN[i]!;
      grad[4] = grad[4]! - h * x2 * logD[i]!;
    }
    return total;
  };
}

/**
 * Chinchilla's grid of initialisations (appendix D.2): α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1},
 * a, b ∈ {0, 5, …, 25}: 4500 starts.
 */
export function chinchillaInitialisationGrid(): LogLawParameters[] {
  const range = (lo: number, hi: number, step: number) =>
    Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => lo + i * step);
  const starts: LogLawParameters[] = [];
  for (const alpha of range(0, 2, 0.5))
    for (const beta of range(0, 2, 0.5))
      for (const e of range(-1, 1, 0.5))
        for (const a of range(0, 25, 5)) for (const b of range(0, 25, 5)) starts.push([a, b, e, alpha, beta]);
  return starts;
}

/** The law of a parameter vector [a, b, e, α, β]. */
export function lawFromParameters(x: ArrayLike<number>): ScalingLaw {
  return { A: Math.exp(x[0]!), B: Math.exp(x[1]!), E: Math.exp(x[2]!), alpha: x[3]!, beta: x[4]! };
}

/** The parameter vector [log A, log B, log E, α, β] of a law. */
export function parametersFromLaw(law: ScalingLaw): LogLawParameters {
  return [Math.log(law.A), Math.log(law.B), Math.log(law.E), law.alpha, law.beta];
}

function checkPoints(points: readonly LossPoint[]): void {
  if (points.length < 5)
    throw new Error(`fitScalingLaw: need at least 5 points for 5 parameters, got ${points.length}`);
  points.forEach((p, i) => {
    for (const key of ['params', 'tokens', 'loss'] as const)
      if (!(Number.isFinite(p[key]) && p[key] > 0))
        throw new Error(`fitScalingLaw: point ${i}: ${key} must be a positive number, got ${p[key]}`);
  });
}

/** The `count` starts with the lowest objective on `points` (each start is evaluated once). */
export function rankStarts(
  points: readonly LossPoint[],
  starts: readonly LogLawParameters[],
  count: number,
  delta = 1e-3,
): LogLawParameters[] {
  const objective = huberLogObjective(points, delta);
  const scratch = new Float64Array(5);
  return starts
    .map((start) => ({ start, value: objective(Float64Array.from(start), scratch) }))
    .filter((s) => Number.isFinite(s.value))
    .sort((p, q) => p.value - q.value)
    .slice(0, count)
    .map((s) => s.start);
}

/**
 * Fits L(N, D) = E + A/N^α + B/D^β to `points` (approach 3): evaluates the Huber-on-log objective at every start,
 * runs L-BFGS from the `bestStarts` best of them and keeps the lowest minimum.
 *
 * @throws Error naming the point and field for a non-positive or non-finite value, or with fewer than 5 points.
 */
export function fitScalingLaw(points: readonly LossPoint[], options: FitOptions = {}): ScalingLawFit {
  checkPoints(points);
  const delta = options.delta ?? 1e-3;
  const objective = huberLogObjective(points, delta);
  const starts = options.starts ?? chinchillaInitialisationGrid();
  const ranked = rankStarts(points, starts, options.bestStarts ?? 64, delta);
  if (ranked.length === 0) throw new Error('fitScalingLaw: the objective is not finite at any start point');
  let best: { x: Float64Array; value: number } | null = null;
  for (const start of ranked) {
    const result = lbfgs(objective, start, { maxIterations: 2000, gradientTolerance: 1e-12 });
    if (best === null || result.value < best.value) best = result;
  }
  return { ...lawFromParameters(best!.x), objective: best!.value, points: points.length };
}
