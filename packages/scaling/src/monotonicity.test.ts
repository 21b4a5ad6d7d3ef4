import { describe, expect, it } from 'vitest';
import { scalingLoss } from './law.js';
import { monotonicityPairs } from './monotonicity.js';
import { TRUE_LAW } from './test-data.js';

describe('monotonicityPairs', () => {
  it('pairs runs that share N or (nearly) D and reports whether the loss fell', () => {
    const point = (params: number, tokens: number, bump = 0) => ({
      params,
      tokens,
      loss: scalingLoss(TRUE_LAW, params, tokens) + bump,
    });
    const a = point(1e6, 1e8);
    const b = point(4e6, 1.1e8); // same D within 1.3×, 4× N: loss falls
    const c = point(1e6, 5e8); // same N, 5× D: loss falls
    const d = point(4e6, 5e8, 5); // same N as b (5× D), same D as c (4× N), but worse: violations
    const pairs = monotonicityPairs([a, b, c, d]);
    const find = (s: object, l: object) => pairs.find((p) => p.smaller === s && p.larger === l);
    expect(find(a, b)).toMatchObject({ varies: 'params', holds: true });
    expect(find(a, c)).toMatchObject({ varies: 'tokens', holds: true });
    expect(find(b, d)).toMatchObject({ varies: 'tokens', holds: false });
    expect(find(c, d)).toMatchObject({ varies: 'params', holds: false });
    expect(find(a, d)).toBeUndefined(); // both vary
    expect(pairs).toHaveLength(4);
  });
});
