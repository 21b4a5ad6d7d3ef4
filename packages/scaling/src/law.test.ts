import { describe, expect, it } from 'vitest';
import { CHINCHILLA, chinchillaLoss, computeOptimal, computeOptimalForLoss, scalingLoss } from './law.js';
import { TRUE_LAW } from './test-data.js';

/** Brute force: the lowest L(N, C/6N) over a fine log grid of N. */
function bruteForceOptimum(flops: number): { params: number; loss: number } {
  let best = { params: 0, loss: Number.POSITIVE_INFINITY };
  for (let x = Math.log(1e2); x < Math.log(1e14); x += 1e-4) {
    const n = Math.exp(x);
    const loss = scalingLoss(TRUE_LAW, n, flops / (6 * n));
    if (loss < best.loss) best = { params: n, loss };
  }
  return best;
}

describe('scaling law', () => {
  it("evaluates Chinchilla's published fit", () => {
    // Chinchilla itself: 70B parameters on 1.4T tokens.
    expect(chinchillaLoss(70e9, 1.4e12)).toBeCloseTo(1.9368, 3);
    expect(CHINCHILLA.alpha).toBe(0.34);
  });

  it('puts the compute optimum where a brute-force search along N·D = C/6 does', () => {
    for (const flops of [1e15, 1e19, 1e23]) {
      const analytic = computeOptimal(TRUE_LAW, flops);
      const brute = bruteForceOptimum(flops);
      expect(Math.abs(analytic.params / brute.params - 1)).toBeLessThan(2e-4);
      expect(analytic.loss).toBeLessThanOrEqual(brute.loss + 1e-12);
      expect(analytic.tokens * analytic.params * 6).toBeCloseTo(flops, -Math.log10(flops) + 9);
    }
  });

  it('finds the smallest budget whose optimum reaches a target loss', () => {
    const optimum = computeOptimalForLoss(TRUE_LAW, 2.5);
    expect(optimum.loss).toBeCloseTo(2.5, 9);
    expect(computeOptimal(TRUE_LAW, optimum.flops * 0.99).loss).toBeGreaterThan(2.5);
    expect(() => computeOptimalForLoss(TRUE_LAW, 1.7)).toThrow('must exceed the irreducible loss E = 1.8');
    expect(() => computeOptimal(TRUE_LAW, 0)).toThrow('flops must be a positive number, got 0');
  });
});
