import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  argmax,
  charLength,
  continuationRequest,
  cutAtStop,
  moveTrailingWhitespace,
  rollingWindows,
  truncateLeft,
} from './harness.js';

describe('moveTrailingWhitespace', () => {
  it('moves the context trailing spaces to the continuation, as _encode_pair', () => {
    expect(moveTrailingWhitespace('Question: x? Answer: ', 'yes')).toEqual({
      context: 'Question: x? Answer:',
      continuation: ' yes',
    });
    expect(moveTrailingWhitespace('a\n\n', ' b')).toEqual({ context: 'a', continuation: '\n\n b' });
    expect(moveTrailingWhitespace('a', ' b')).toEqual({ context: 'a', continuation: ' b' });
  });
});

describe('rollingWindows', () => {
  it('matches the harness example (35 tokens, max 10, disjoint)', () => {
    const tokens = Array.from({ length: 35 }, (_, i) => i);
    const w = rollingWindows(tokens, -100, 10);
    expect(w).toEqual([
      { tokens: [-100, ...tokens.slice(0, 10)], scored: 10 },
      { tokens: tokens.slice(9, 20), scored: 10 },
      { tokens: tokens.slice(19, 30), scored: 10 },
      { tokens: tokens.slice(24, 35), scored: 5 },
    ]);
  });

  it('scores every token exactly once, each with its true preceding context, within the window length', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 80 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        (n, maxLength, s) => {
          const stride = Math.min(s, maxLength);
          const tokens = Array.from({ length: n }, (_, i) => 1000 + i);
          const full = [-1, ...tokens];
          const seen: number[] = [];
          for (const w of rollingWindows(tokens, -1, maxLength, stride)) {
            expect(w.tokens.length - 1).toBeLessThanOrEqual(maxLength);
            // The window is a contiguous slice of [prefix, ...tokens]: its last token is at full index end.
            const end = full.indexOf(w.tokens[w.tokens.length - 1]!);
            expect(w.tokens).toEqual(full.slice(end - w.tokens.length + 1, end + 1));
            for (const t of w.tokens.slice(w.tokens.length - w.scored)) seen.push(t);
            // Sliding windows keep the most context that fits.
            const start = end - w.tokens.length + 1;
            if (start > 0) expect(w.tokens.length - 1).toBe(maxLength);
          }
          expect(seen).toEqual(tokens);
        },
      ),
    );
  });

  it('rejects a stride larger than the window', () => {
    expect(() => rollingWindows([1, 2, 3], 0, 4, 5)).toThrow(/stride/);
  });
});

describe('continuationRequest / truncateLeft', () => {
  it('takes the continuation as the whole encoding past the context length', () => {
    expect(continuationRequest([1, 5, 6], [1, 5, 6, 7, 8])).toEqual({ tokens: [1, 5, 6, 7, 8], scored: 2 });
    // A merge across the boundary counts as the continuation's (harness semantics).
    expect(continuationRequest([1, 5, 6], [1, 5, 9, 8])).toEqual({ tokens: [1, 5, 9, 8], scored: 1 });
  });
  it('keeps the last max_length + 1 tokens', () => {
    expect(truncateLeft({ tokens: [1, 2, 3, 4, 5, 6], scored: 2 }, 3)).toEqual({ tokens: [3, 4, 5, 6], scored: 2 });
    expect(() => truncateLeft({ tokens: [1, 2, 3, 4, 5, 6], scored: 4 }, 3)).toThrow(/continuation has 4 tokens/);
  });
});

describe('small helpers', () => {
  it('argmax takes the first maximum, as np.argmax', () => {
    expect(argmax([-3, -1, -1, -2])).toBe(1);
  });
  it('charLength counts code points, as Python len', () => {
    expect(charLength('héllo 🙂')).toBe(7);
  });
  it('cutAtStop cuts at the earliest stop string', () => {
    expect(cutAtStop(' Paris.\nQ: next', ['\n', '.'])).toBe(' Paris');
    expect(cutAtStop('abc', [])).toBe('abc');
  });
});
