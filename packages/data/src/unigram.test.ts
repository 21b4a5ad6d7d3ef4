import { describe, expect, it } from 'vitest';
import { unigramCrossEntropy } from './unigram.js';

describe('unigramCrossEntropy', () => {
  it('is ln k for k equally frequent tokens', () => {
    const tokens = Array.from({ length: 700 }, (_, i) => (i * 13) % 7);
    expect(unigramCrossEntropy(tokens)).toBeCloseTo(Math.log(7), 12);
  });

  it('matches −Σ p ln p for a skewed distribution, across several arrays', () => {
    // p = (1/2, 1/4, 1/4): H = 1.5 ln 2.
    const parts = [new Int32Array([0, 0, 1]), new Int32Array([2, 0])];
    parts.push(new Int32Array([0, 1, 2]));
    expect(unigramCrossEntropy(parts)).toBeCloseTo(1.5 * Math.LN2, 12);
  });

  it('is 0 for a constant stream and rejects an empty one', () => {
    expect(unigramCrossEntropy([4, 4, 4])).toBe(0);
    expect(() => unigramCrossEntropy([])).toThrow(/no tokens/);
  });
});
