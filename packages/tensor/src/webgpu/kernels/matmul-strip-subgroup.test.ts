import { describe, expect, it } from 'vitest';
import { fittedStrip, type StripSubgroupConfig } from './matmul-strip-subgroup.js';

const heights: StripSubgroupConfig[] = [
  { wg: 8, rm: 16, rn: 8 },
  { wg: 8, rm: 24, rn: 4 },
  { wg: 8, rm: 32, rn: 4 },
];

describe('fittedStrip', () => {
  it('computes the fewest rows for every M, the taller strip on a tie', () => {
    for (let M = 1; M <= 200; M++) {
      // Independent count: row blocks of each height laid end to end until they cover M.
      const covered = heights.map((h) => {
        let rows = 0;
        while (rows < M) rows += h.rm;
        return rows;
      });
      const fewest = Math.min(...covered);
      const tallest = Math.max(...heights.filter((_, i) => covered[i] === fewest).map((h) => h.rm));
      expect(fittedStrip(heights, M).rm, `M ${M}`).toBe(tallest);
    }
  });

  it('picks what a serving step needs: b16 up to 16 rows, b24 for 17–24, b32 for 25–32 (not b24 for 31)', () => {
    expect([2, 16, 17, 20, 24, 25, 31, 32, 40, 64].map((M) => fittedStrip(heights, M).rm)).toEqual([
      16, 16, 24, 24, 24, 32, 32, 32, 24, 32,
    ]);
  });

  it('refuses an empty list of heights', () => {
    expect(() => fittedStrip([], 4)).toThrow(/no strip heights/);
  });
});
