import { seededUniform } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { bootstrapFit } from './bootstrap.js';
import { CHINCHILLA, type ScalingLaw, scalingLoss } from './law.js';
import {
  chinchillaInitialisationGrid,
  fitScalingLaw,
  huber,
  huberLogObjective,
  type LossPoint,
  parametersFromLaw,
} from './parametric-fit.js';
import { normalSampler, syntheticIsoflopPoints, TRUE_LAW } from './test-data.js';

const BUDGETS = [1e18, 1e19, 1e20, 1e21, 1e22];

describe('huber', () => {
  it('is quadratic inside ±δ and linear outside, continuous at the threshold', () => {
    expect(huber(0.5e-3, 1e-3)).toBeCloseTo(0.125e-6, 18);
    expect(huber(-3e-3, 1e-3)).toBeCloseTo(1e-3 * (3e-3 - 0.5e-3), 18);
    expect(huber(1e-3, 1e-3)).toBeCloseTo(0.5e-6, 18);
  });
});

describe('huberLogObjective', () => {
  it('matches a direct float64 evaluation and its gradient matches central differences', () => {
    const z = normalSampler(5);
    const points: LossPoint[] = Array.from({ length: 9 }, (_, i) => ({
      params: 10 ** (6 + i * 0.4 + 0.1 * z()),
      tokens: 10 ** (8 + (i % 4) * 0.7),
      loss: 2 + 0.5 * Math.abs(z()),
    }));
    const objective = huberLogObjective(points, 0.05);
    const x = Float64Array.from([5.5, 6.1, 0.6, 0.4, 0.3]);
    const grad = new Float64Array(5);
    const value = objective(x, grad);
    const [a, b, e, alpha, beta] = x;
    const direct = points.reduce((s, p) => {
      const predicted = Math.exp(e!) + Math.exp(a!) / p.params ** alpha! + Math.exp(b!) / p.tokens ** beta!;
      return s + huber(Math.log(predicted) - Math.log(p.loss), 0.05);
    }, 0);
    expect(value).toBeCloseTo(direct, 12);
    // Some residuals fall on each side of δ, so both branches of the derivative are exercised.
    for (let i = 0; i < 5; i++) {
      const h = 1e-6;
      const plus = Float64Array.from(x);
      const minus = Float64Array.from(x);
      plus[i] = plus[i]! + h;
      minus[i] = minus[i]! - h;
      const numeric = (objective(plus, new Float64Array(5)) - objective(minus, new Float64Array(5))) / (2 * h);
      expect(Math.abs(grad[i]! - numeric), `∂f/∂x${i}`).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
    }
  });
});

describe('fitScalingLaw', () => {
  it('recovers a known law exactly from noise-free losses', () => {
    const fit = fitScalingLaw(syntheticIsoflopPoints(TRUE_LAW, BUDGETS));
    for (const key of ['E', 'A', 'B', 'alpha', 'beta'] as const)
      expect(Math.abs(fit[key] / TRUE_LAW[key] - 1), key).toBeLessThan(1e-3);
  });

  it("recovers Chinchilla's published law from its own predictions", () => {
    const fit = fitScalingLaw(syntheticIsoflopPoints(CHINCHILLA, [1e19, 1e20, 1e21, 1e22, 1e23]));
    expect(fit.alpha).toBeCloseTo(0.34, 3);
    expect(fit.beta).toBeCloseTo(0.28, 3);
    expect(fit.E).toBeCloseTo(1.69, 3);
  });

  it('keeps the true parameters inside the bootstrap intervals under 0.5% noise', () => {
    const points = syntheticIsoflopPoints(TRUE_LAW, BUDGETS, { noise: 0.005, seed: 11 });
    const fit = bootstrapFit(points, { random: seededUniform(2), samples: 60 });
    expect(fit.samples).toBe(60);
    for (const key of ['E', 'A', 'B', 'alpha', 'beta'] as const) {
      const [lo, hi] = fit.ci[key];
      expect(lo, key).toBeLessThanOrEqual(fit[key]);
      expect(hi, key).toBeGreaterThanOrEqual(fit[key]);
      expect(TRUE_LAW[key], `${key} in [${lo}, ${hi}]`).toBeGreaterThanOrEqual(lo);
      expect(TRUE_LAW[key], `${key} in [${lo}, ${hi}]`).toBeLessThanOrEqual(hi);
    }
    // The intervals are informative, not the whole start grid.
    expect(fit.ci.alpha[1] - fit.ci.alpha[0]).toBeLessThan(0.1);
    expect(fit.ci.beta[1] - fit.ci.beta[0]).toBeLessThan(0.1);
  });

  it('starts from Chinchilla’s 4500-point grid and prefers the best start', () => {
    expect(chinchillaInitialisationGrid()).toHaveLength(4500);
    const points = syntheticIsoflopPoints(TRUE_LAW, BUDGETS);
    const law: ScalingLaw = { ...TRUE_LAW };
    const fromTruth = fitScalingLaw(points, { starts: [parametersFromLaw(law)] });
    expect(fromTruth.objective).toBeLessThan(1e-20);
    expect(scalingLoss(fromTruth, 1e9, 1e11)).toBeCloseTo(scalingLoss(TRUE_LAW, 1e9, 1e11), 9);
  });

  it('names the bad point and field', () => {
    const points = syntheticIsoflopPoints(TRUE_LAW, [1e20]);
    points[2] = { ...points[2]!, tokens: -1 };
    expect(() => fitScalingLaw(points)).toThrow('point 2: tokens must be a positive number, got -1');
    expect(() => fitScalingLaw(points.slice(0, 3))).toThrow('need at least 5 points');
  });
});
