import { describe, expect, it } from 'vitest';
import { computeOptimal, scalingLoss } from './law.js';
import { TRUE_LAW } from './test-data.js';
import { inferenceTradeoff, tokensForLoss, tradeoffCurve } from './tradeoff.js';

/** Brute force over a fine log grid of N: the size with the least training + inference FLOPs at `loss`. */
function bruteForce(loss: number, inferenceTokens: number): number {
  let best = { params: 0, total: Number.POSITIVE_INFINITY };
  for (let x = Math.log(1e3); x < Math.log(1e13); x += 2e-4) {
    const n = Math.exp(x);
    const d = tokensForLoss(TRUE_LAW, n, loss);
    const total = 6 * n * d + 2 * n * inferenceTokens;
    if (total < best.total) best = { params: n, total };
  }
  return best.params;
}

describe('inference trade-off', () => {
  it('gives D(N) that reaches the target loss exactly', () => {
    const d = tokensForLoss(TRUE_LAW, 3e10, 2.4);
    expect(scalingLoss(TRUE_LAW, 3e10, d)).toBeCloseTo(2.4, 12);
    // 3e8 parameters cannot get below E + A/N^α ≈ 3.02 on any amount of data.
    expect(tokensForLoss(TRUE_LAW, 3e8, 2.4)).toBe(Number.POSITIVE_INFINITY);
  });

  it('without inference picks the Chinchilla-optimal size', () => {
    const t = inferenceTradeoff(TRUE_LAW, 2.4, 0);
    expect(t.best.params / t.chinchilla.params).toBeCloseTo(1, 4);
    const analytic = computeOptimal(TRUE_LAW, t.chinchilla.trainingFlops);
    expect(analytic.params / t.chinchilla.params).toBeCloseTo(1, 6);
    expect(analytic.loss).toBeCloseTo(2.4, 9);
  });

  it('with inference picks a smaller model trained longer, where brute force does', () => {
    for (const inferenceTokens of [1e11, 1e13, 1e15]) {
      const t = inferenceTradeoff(TRUE_LAW, 2.4, inferenceTokens);
      expect(Math.abs(t.best.params / bruteForce(2.4, inferenceTokens) - 1)).toBeLessThan(1e-3);
      expect(t.best.params).toBeLessThan(t.chinchilla.params);
      expect(t.best.tokensPerParameter).toBeGreaterThan(t.chinchilla.tokensPerParameter);
      expect(t.best.totalFlops).toBeLessThanOrEqual(t.chinchilla.totalFlops);
      expect(t.best.params).toBeGreaterThan(t.minParams);
    }
  });

  it('draws a curve whose minimum is the chosen size', () => {
    const t = inferenceTradeoff(TRUE_LAW, 2.4, 1e13);
    const rows = tradeoffCurve(t, TRUE_LAW, 200);
    const lowest = rows.reduce((a, b) => (b.totalFlops < a.totalFlops ? b : a));
    expect(lowest.totalFlops).toBeGreaterThanOrEqual(t.best.totalFlops * (1 - 1e-9));
    expect(Math.abs(Math.log(lowest.params / t.best.params))).toBeLessThan(0.05);
    expect(() => inferenceTradeoff(TRUE_LAW, 2.4, -1)).toThrow('inference tokens must be a number >= 0, got -1');
  });
});
