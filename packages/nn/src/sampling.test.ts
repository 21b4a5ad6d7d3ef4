import { describe, expect, it } from 'vitest';
import { argmax, createRng, sampleToken } from './sampling.js';

describe('sampleToken', () => {
  const logits = Float32Array.from([0.5, 2, -1, 1.5, 0, 3, -2, 1]);

  it('temperature 0 (and topK 1) is argmax', () => {
    expect(sampleToken(logits, { temperature: 0 }, createRng(1))).toBe(5);
    expect(sampleToken(logits, { topK: 1 }, createRng(1))).toBe(5);
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });

  it('draws from softmax(logits / T): frequencies match the probabilities', () => {
    const rng = createRng(42);
    const n = 40_000;
    const counts = new Array(8).fill(0);
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { temperature: 0.8 }, rng)]++;
    const e = [...logits].map((v) => Math.exp(v / 0.8));
    const z = e.reduce((a, b) => a + b, 0);
    e.forEach((p, i) => {
      const expected = (p / z) * n;
      // 5 standard deviations of a binomial count.
      expect(Math.abs(counts[i] - expected)).toBeLessThan(5 * Math.sqrt(expected) + 1);
    });
  });

  it('topK and topP keep only the most likely tokens', () => {
    const rng = createRng(3);
    const seenK = new Set<number>();
    const seenP = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      seenK.add(sampleToken(logits, { topK: 3 }, rng));
      seenP.add(sampleToken(logits, { topP: 0.8 }, rng));
    }
    expect([...seenK].sort()).toEqual([1, 3, 5]);
    // Probabilities sorted: 5 (.52), 1 (.19), 3 (.12), 7 (.07), …: 0.8 needs the first three.
    expect([...seenP].sort()).toEqual([1, 3, 5]);
  });

  it('is deterministic per seed and rejects bad options', () => {
    const a = Array.from(
      { length: 20 },
      (
        (rng) => () =>
          sampleToken(logits, {}, rng)
      )(createRng(9)),
    );
    const b = Array.from(
      { length: 20 },
      (
        (rng) => () =>
          sampleToken(logits, {}, rng)
      )(createRng(9)),
    );
    expect(a).toEqual(b);
    expect(() => sampleToken(logits, { temperature: -1 }, Math.random)).toThrow(/temperature/);
    expect(() => sampleToken(logits, { topP: 0 }, Math.random)).toThrow(/topP/);
    expect(() => sampleToken(logits, { topK: 1.5 }, Math.random)).toThrow(/topK/);
  });
});
