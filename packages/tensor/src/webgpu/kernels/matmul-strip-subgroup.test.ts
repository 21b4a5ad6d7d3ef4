import { describe, expect, it } from 'vitest';
import { fittedStrip, type StripHeight } from './matmul-strip-subgroup.js';

// The `bf` variant's heights (tuning/families.ts).
const heights: StripHeight[] = [
  { strip: { wg: 8, rm: 16, rn: 8 }, rowCost: 1.12 },
  { strip: { wg: 8, rm: 24, rn: 4 }, rowCost: 1.12 },
  { strip: { wg: 8, rm: 32, rn: 4 }, rowCost: 1 },
];

describe('fittedStrip', () => {
  it('takes the least cost of the rows each height computes for every M, the taller strip on a tie', () => {
    for (let M = 1; M <= 300; M++) {
      // Independent count: row blocks of each height laid end to end until they cover M.
      const cost = heights.map((h) => {
        let rows = 0;
        while (rows < M) rows += h.strip.rm;
        return rows * h.rowCost;
      });
      const least = Math.min(...cost);
      const tallest = Math.max(...heights.filter((_, i) => cost[i] === least).map((h) => h.strip.rm));
      expect(fittedStrip(heights, M).rm, `M ${M}`).toBe(tallest);
    }
  });

  it('picks what a serving step needs: b16 up to 16 rows, b24 for 17–24, b32 for 25–32 (not b24 for 31)', () => {
    expect([2, 16, 17, 20, 24, 25, 31, 32, 40, 64, 1000].map((M) => fittedStrip(heights, M).rm)).toEqual([
      16, 16, 24, 24, 24, 32, 32, 32, 24, 32, 32,
    ]);
  });

  it('refuses an empty list of heights', () => {
    expect(() => fittedStrip([], 4)).toThrow(/no strip heights/);
  });
});
