import { describe, expect, it } from 'vitest';
import { fnv1a32, isValidationDocument, mixSeed, SeededRandom } from './rng.js';

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    // Vectors from the FNV reference (draft-eastlake-fnv, test suite of fnv_32a_str).
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes UTF-8 bytes, not UTF-16 code units', () => {
    // 'é' is C3 A9 in UTF-8: fold both bytes by hand.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(fnv1a32('é')).toBe(h);
  });

  it('puts about valFraction of documents in the validation split', () => {
    let val = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) if (isValidationDocument(`document number ${i}`, 0.1)) val++;
    // Binomial(20000, 0.1): sd ≈ 42; 6 sd bounds.
    expect(Math.abs(val - 2000)).toBeLessThan(260);
  });
});

describe('SeededRandom', () => {
  it('is reproducible from its state and roughly uniform', () => {
    const a = new SeededRandom(123);
    for (let i = 0; i < 10; i++) a.next();
    const b = new SeededRandom(a.state);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.06); // sd of the mean ≈ 0.009
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  it('shuffles into a permutation', () => {
    const items = Array.from({ length: 97 }, (_, i) => i);
    const shuffled = new SeededRandom(5).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
  });

  it('mixSeed spreads nearby indices', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10000; i++) seen.add(mixSeed(7, i));
    expect(seen.size).toBe(10000);
    expect(mixSeed(7, 3)).not.toBe(mixSeed(8, 3));
  });
});
