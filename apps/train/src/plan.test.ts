import { describe, expect, it } from 'vitest';
import { chinchillaLoss, formatPlan, planTraining } from './plan.js';

describe('planTraining (Chinchilla, Hoffmann et al. 2022)', () => {
  it('gives ~1.4T compute-optimal tokens for 70B parameters (Chinchilla itself)', () => {
    const plan = planTraining({ params: 70e9 });
    expect(plan.computeOptimalTokens).toBeCloseTo(1.4e12, -9);
    expect(plan.tokens).toBe(plan.computeOptimalTokens);
    expect(plan.overTrainFactor).toBeCloseTo(1, 12);
    // Paper: Chinchilla used 5.76e23 FLOPs; 6·N·D with N = 70e9, D = 1.4e12 is 5.88e23.
    expect(plan.flops).toBeCloseTo(5.88e23, -20);
  });

  it('says LLaMA-7B on 1T tokens is ~7x over-trained', () => {
    const plan = planTraining({ params: 7e9, tokens: 1e12 });
    expect(plan.overTrainFactor).toBeGreaterThan(6.9);
    expect(plan.overTrainFactor).toBeLessThan(7.3);
    // The same FLOPs spent compute-optimally would train a larger model on fewer tokens.
    expect(plan.computeOptimalParamsForFlops).toBeGreaterThan(7e9);
    expect(plan.computeOptimalTokensForFlops).toBeLessThan(1e12);
    expect(plan.computeOptimalLossForFlops).toBeLessThan(plan.loss);
  });

  it('finds the minimum of the fitted loss at fixed FLOPs (checked by a grid search)', () => {
    const plan = planTraining({ params: 7e9, tokens: 1e12 });
    let best = Number.POSITIVE_INFINITY;
    for (let logN = 8; logN <= 12; logN += 0.001) {
      const n = 10 ** logN;
      best = Math.min(best, chinchillaLoss(n, plan.flops / (6 * n)));
    }
    expect(plan.computeOptimalLossForFlops).toBeCloseTo(best, 6);
    expect(plan.computeOptimalParamsForFlops * plan.computeOptimalTokensForFlops * 6).toBeCloseTo(plan.flops, -12);
  });

  it('evaluates L(N, D) = 1.69 + 406.4/N^0.34 + 410.7/D^0.28 (hand-computed values)', () => {
    // 70B / 1.4T: 406.4 / e^(0.34·ln 7e10) + 410.7 / e^(0.28·ln 1.4e12) ≈ 0.0836 + 0.1632.
    expect(chinchillaLoss(70e9, 1.4e12)).toBeCloseTo(1.9368, 3);
    expect(chinchillaLoss(1e30, 1e30)).toBeCloseTo(1.69, 4);
    // One parameter and one token: E + A + B.
    expect(chinchillaLoss(1, 1)).toBeCloseTo(1.69 + 406.4 + 410.7, 9);
  });

  it('turns FLOPs into time at a throughput', () => {
    const plan = planTraining({ params: 1e6, tokens: 1e6, throughput: 6e9 });
    expect(plan.seconds).toBeCloseTo(1000, 9);
    expect(formatPlan(plan)).toContain('time at the given throughput');
  });

  it('rejects non-positive inputs, naming them', () => {
    expect(() => planTraining({ params: 0 })).toThrow(/params must be a positive number, got 0/);
    expect(() => planTraining({ params: 1e9, tokens: -1 })).toThrow(/tokens/);
    expect(() => planTraining({ params: 1e9, throughput: Number.NaN })).toThrow(/throughput/);
  });
});
