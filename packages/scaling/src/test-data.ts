/**
 * Synthetic losses for the tests: an IsoFLOP grid around a known law's optimum, with optional log-normal noise.
 *
 * @module
 */
import { seededUniform } from '@andes/tensor';
import { computeOptimal, type ScalingLaw, scalingLoss } from './law.js';
import type { LossPoint } from './parametric-fit.js';

/** A law unlike Chinchilla's, so recovering it proves the fit does not lean on the published numbers. */
export const TRUE_LAW: ScalingLaw = { E: 1.8, A: 520, B: 380, alpha: 0.31, beta: 0.29 };

/** Standard normal draws from a seeded uniform generator (Box–Muller). */
export function normalSampler(seed: number): () => number {
  const uniform = seededUniform(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * For each budget, sizes at optimum × spacing^k for k = −half … half, D = C/(6N); loss = L(N, D)·exp(noise·z).
 */
export function syntheticIsoflopPoints(
  law: ScalingLaw,
  budgets: readonly number[],
  options: { half?: number; spacing?: number; noise?: number; seed?: number } = {},
): LossPoint[] {
  const half = options.half ?? 3;
  const spacing = options.spacing ?? 2;
  const z = normalSampler(options.seed ?? 1);
  const points: LossPoint[] = [];
  for (const flops of budgets) {
    const optimum = computeOptimal(law, flops).params;
    for (let k = -half; k <= half; k++) {
      const params = optimum * spacing ** k;
      const tokens = flops / (6 * params);
      points.push({ params, tokens, loss: scalingLoss(law, params, tokens) * Math.exp((options.noise ?? 0) * z()) });
    }
  }
  return points;
}
