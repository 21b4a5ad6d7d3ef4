import { seededUniform } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { StepCostModel, sharePrefill } from './prefill-budget.js';

describe('StepCostModel', () => {
  it('has no fit until steps of two sizes were seen, then recovers a noisy line', () => {
    const m = new StepCostModel(1);
    expect(m.fit()).toBeNull();
    m.observe(7, 10);
    m.observe(7, 11);
    expect(m.fit()).toBeNull();
    expect(m.rowsBeside(3, 50)).toBe(Number.POSITIVE_INFINITY);
    const rand = seededUniform(5);
    // Truth: 3.7 ms + 0.83 ms per row, ±5 % noise, awkward row counts 1..53.
    for (let i = 0; i < 400; i++) {
      const rows = 1 + Math.floor(rand() * 53);
      m.observe(rows, (3.7 + 0.83 * rows) * (0.95 + 0.1 * rand()));
    }
    const f = m.fit()!;
    expect(f.fixed).toBeCloseTo(3.7, 0);
    expect(f.perRow).toBeGreaterThan(0.8);
    expect(f.perRow).toBeLessThan(0.86);
    expect(m.predict(17)).toBeCloseTo(3.7 + 0.83 * 17, 0);
    // Rows beside 16 decodes within 40 ms: (40 - 3.7 - 0.83·16) / 0.83 ≈ 27.7.
    expect(m.rowsBeside(16, 40)).toBeGreaterThanOrEqual(26);
    expect(m.rowsBeside(16, 40)).toBeLessThanOrEqual(29);
    expect(m.rowsBeside(16, 10)).toBe(0);
  });

  it('forgets: when the machine slows down threefold the fit follows within a few dozen steps', () => {
    const m = new StepCostModel(0.9);
    const rand = seededUniform(9);
    const feed = (scale: number, n: number) => {
      for (let i = 0; i < n; i++) {
        const rows = 1 + Math.floor(rand() * 31);
        m.observe(rows, scale * (2 + 0.5 * rows));
      }
    };
    feed(1, 100);
    expect(m.fit()!.perRow).toBeCloseTo(0.5, 3);
    feed(3, 60);
    expect(m.fit()!.perRow).toBeCloseTo(1.5, 1);
    expect(m.fit()!.fixed).toBeCloseTo(6, 0);
  });

  it('ignores steps without rows or with a bad time, and rejects a bad decay', () => {
    const m = new StepCostModel();
    m.observe(0, 5);
    m.observe(3, Number.NaN);
    m.observe(4, -1);
    expect(m.fit()).toBeNull();
    expect(() => new StepCostModel(0)).toThrow(/decay 0 must be in \(0, 1\]/);
  });
});

describe('sharePrefill', () => {
  it('finishes the shortest prompts first, keeps a quarter for the oldest, and gives the rest in age order', () => {
    // Oldest first: the 200-token prompt keeps 16 of 64, the short ones finish, the rest goes back to it.
    expect(sharePrefill([200, 3, 7], 64)).toEqual([54, 3, 7]);
    // A burst of equal prompts: they finish one after another instead of all at the end.
    expect(sharePrefill([20, 20, 20, 20, 20], 64)).toEqual([20, 20, 20, 4, 0]);
    expect(sharePrefill([40, 41, 5], 64)).toEqual([40, 19, 5]);
    expect(sharePrefill([9], 4)).toEqual([4]);
    expect(sharePrefill([30, 2, 2, 2], 8)).toEqual([2, 2, 2, 2]);
    expect(sharePrefill([], 10)).toEqual([]);
  });

  it('on random inputs: all the budget used, the oldest never starved, no longer prompt served before a shorter one', () => {
    const rand = seededUniform(21);
    for (let trial = 0; trial < 300; trial++) {
      const count = 1 + Math.floor(rand() * 9);
      const pending = Array.from({ length: count }, () => 1 + Math.floor(rand() * 97));
      const budget = Math.floor(rand() * 200);
      const out = sharePrefill(pending, budget);
      const total = pending.reduce((a, b) => a + b, 0);
      expect(out.reduce((a, b) => a + b, 0)).toBe(Math.min(budget, total));
      out.forEach((n, i) => {
        expect(n).toBeGreaterThanOrEqual(0);
        expect(n).toBeLessThanOrEqual(pending[i]!);
      });
      const reserve = Math.min(pending[0]!, Math.ceil(budget / 4));
      expect(out[0]).toBeGreaterThanOrEqual(reserve);
      // Beyond the oldest's reserve, a prompt j got tokens only if every prompt i with less left (or as much and
      // older) was finished.
      const beyond = out.map((n, j) => n - (j === 0 ? reserve : 0));
      const left = pending.map((p, j) => p - (j === 0 ? reserve : 0));
      for (let j = 0; j < count; j++) {
        if (beyond[j]! <= 0) continue;
        for (let i = 0; i < count; i++) {
          if (i !== j && (left[i]! < left[j]! || (left[i] === left[j] && i < j))) expect(out[i]).toBe(pending[i]);
        }
      }
    }
  });
});
