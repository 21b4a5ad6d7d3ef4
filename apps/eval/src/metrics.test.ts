import { describe, expect, it } from 'vitest';
import { exactMatch, f1Score, meanWithStderr, normalizeAnswer, perplexityFromTotals } from './metrics.js';

describe('meanWithStderr', () => {
  it('equals sqrt(p(1-p)/(n-1)) for 0/1 scores', () => {
    const values = [1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1];
    const p = 7 / 11;
    const m = meanWithStderr(values);
    expect(m.value).toBeCloseTo(p, 14);
    expect(m.stderr!).toBeCloseTo(Math.sqrt((p * (1 - p)) / 10), 14);
  });
  it('uses the sample standard deviation over sqrt(n) for real-valued scores', () => {
    const values = [0.5, 1, 0.25, 0];
    // mean 0.4375; squared deviations sum = 0.00390625+0.31640625+0.03515625+0.19140625 = 0.546875
    expect(meanWithStderr(values).stderr!).toBeCloseTo(Math.sqrt(0.546875 / 3) / 2, 14);
  });
  it('has no stderr for a single value', () => {
    expect(meanWithStderr([1])).toEqual({ value: 1, stderr: null });
  });
});

describe('SQuAD exact match and F1', () => {
  it('normalises case, punctuation, articles and whitespace', () => {
    expect(normalizeAnswer('  The  Eiffel-Tower, in Paris! ')).toBe('eiffeltower in paris');
    expect(exactMatch('the Eiffel Tower.', ['Eiffel tower', 'x'])).toBe(1);
    expect(exactMatch('Eiffel', ['Eiffel tower'])).toBe(0);
  });
  it('computes token-overlap F1 against the best answer', () => {
    // pred tokens: [big, red, ball]; answer: [red, ball, game] → common 2, P=2/3, R=2/3, F1=2/3
    expect(f1Score('a big red ball', ['red ball game'])).toBeCloseTo(2 / 3, 14);
    expect(f1Score('a big red ball', ['red ball game', 'big red ball'])).toBe(1);
    // repeated tokens count with multiplicity: pred [ball ball], answer [ball] → P=1/2, R=1, F1=2/3
    expect(f1Score('ball ball', ['ball'])).toBeCloseTo(2 / 3, 14);
    expect(f1Score('', ['ball'])).toBe(0);
    expect(f1Score('the', ['a'])).toBe(1);
  });
});

describe('perplexityFromTotals', () => {
  it('derives token perplexity, word perplexity and bits per byte', () => {
    const r = perplexityFromTotals(-100, 50, 200, 40);
    expect(r.tokenPerplexity).toBeCloseTo(Math.exp(2), 12);
    expect(r.wordPerplexity).toBeCloseTo(Math.exp(2.5), 12);
    expect(r.bitsPerByte).toBeCloseTo(0.5 / Math.LN2, 12);
  });
});
