import { describe, expect, it } from 'vitest';
import { fitPowerLaw, groupByBudget, isoflopFrontier, isoflopMinima, polyfit } from './isoflop.js';
import { computeOptimal } from './law.js';
import { syntheticIsoflopPoints, TRUE_LAW } from './test-data.js';

const BUDGETS = [1e17, 1e18, 1e19, 1e20];

describe('polyfit', () => {
  it('recovers a parabola and a line exactly, on log-scale inputs', () => {
    const xs = [13.1, 13.9, 14.2, 15.7, 16.3, 17];
    const ys = xs.map((x) => 4.5 - 0.7 * x + 0.02 * x * x);
    const [c0, c1, c2] = polyfit(xs, ys, 2);
    expect(c0).toBeCloseTo(4.5, 8);
    expect(c1).toBeCloseTo(-0.7, 9);
    expect(c2).toBeCloseTo(0.02, 10);
    const line = polyfit([1, 2, 4], [3, 5, 9], 1);
    expect(line[0]).toBeCloseTo(1, 12);
    expect(line[1]).toBeCloseTo(2, 12);
    expect(() => polyfit([1, 2], [1, 2], 2)).toThrow('degree 2 needs at least 3 points, got 2');
  });

  it('fits a power law through points in log-log space', () => {
    const law = fitPowerLaw([1e3, 1e5, 1e7], [2 * 1e3 ** 0.45, 2 * 1e5 ** 0.45, 2 * 1e7 ** 0.45]);
    expect(law.k).toBeCloseTo(2, 9);
    expect(law.exponent).toBeCloseTo(0.45, 12);
  });
});

describe('IsoFLOP minima (approach 2)', () => {
  it('groups points by 6ND despite whole-step rounding of D', () => {
    const points = syntheticIsoflopPoints(TRUE_LAW, BUDGETS).map((p) => ({ ...p, tokens: p.tokens * 1.04 }));
    const groups = groupByBudget(points);
    expect(groups).toHaveLength(4);
    for (const [i, g] of groups.entries()) {
      expect(g.points).toHaveLength(7);
      expect(g.flops / (BUDGETS[i]! * 1.04)).toBeCloseTo(1, 9);
    }
  });

  it('puts the vertex exactly where losses that are parabolic in log N have their minimum', () => {
    const flops = 6e15;
    const points = [1e5, 2e5, 5e5, 1e6, 3e6].map((n) => {
      const x = Math.log(n) - Math.log(7.5e5);
      return { params: n, tokens: flops / (6 * n), loss: 3 + 0.1 * x * x };
    });
    const [minimum] = isoflopMinima(groupByBudget(points));
    expect(minimum!.params).toBeCloseTo(7.5e5, 3);
    expect(minimum!.loss).toBeCloseTo(3, 10);
    expect(minimum!.extrapolated).toBe(false);
    expect(minimum!.tokensPerParameter).toBeCloseTo(flops / 6 / 7.5e5 ** 2, 9);
  });

  it("matches the law's analytic optimum N*(C) for noise-free losses, and the frontier's exponents", () => {
    // A parabola in log N is a second-order model of the IsoFLOP curve: on a grid spanning optimum × 2^±2 its vertex
    // sits within 1% of the analytic N*(C) (0.55% here; the error shrinks with the span, and 2^±3 gives 1.1%).
    const points = syntheticIsoflopPoints(TRUE_LAW, BUDGETS, { half: 2, spacing: 2 });
    const minima = isoflopMinima(groupByBudget(points));
    expect(minima).toHaveLength(4);
    for (const m of minima) {
      const analytic = computeOptimal(TRUE_LAW, m.flops);
      expect(Math.abs(m.params / analytic.params - 1), `N at C=${m.flops}`).toBeLessThan(0.01);
      expect(Math.abs(m.tokens / analytic.tokens - 1), `D at C=${m.flops}`).toBeLessThan(0.01);
      expect(Math.abs(m.loss / analytic.loss - 1), `loss at C=${m.flops}`).toBeLessThan(5e-4);
    }
    // N_opt ∝ C^(β/(α+β)) and D_opt ∝ C^(α/(α+β)) (Hoffmann et al. eq. 4).
    const frontier = isoflopFrontier(minima)!;
    const { alpha, beta } = TRUE_LAW;
    expect(frontier.params.exponent).toBeCloseTo(beta / (alpha + beta), 6);
    expect(frontier.tokens.exponent).toBeCloseTo(alpha / (alpha + beta), 6);
  });

  it('skips budgets with fewer than three sizes and needs two minima for a frontier', () => {
    const points = syntheticIsoflopPoints(TRUE_LAW, [1e18], { half: 2 });
    expect(isoflopMinima(groupByBudget(points.slice(0, 2)))).toHaveLength(0);
    expect(isoflopFrontier(isoflopMinima(groupByBudget(points)))).toBeNull();
  });
});
