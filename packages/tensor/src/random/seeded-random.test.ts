import { describe, expect, it } from 'vitest';
import { fnv1a32, mixSeed, SeededRandom, seededUniform } from './seeded-random.js';

const M = 0xffffffffn;

/** Mulberry32 as published (Tommy Ettinger's C), in BigInt arithmetic: an oracle independent of Math.imul tricks. */
function mulberry32Reference(seed: number, n: number): number[] {
  let x = BigInt(seed >>> 0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x + 0x6d2b79f5n) & M;
    let z = x;
    z = ((z ^ (z >> 15n)) * (z | 1n)) & M;
    z = (z ^ (z + (((z ^ (z >> 7n)) * (z | 61n)) & M))) & M;
    out.push(Number(z ^ (z >> 14n)) / 2 ** 32);
  }
  return out;
}

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
});

describe('SeededRandom', () => {
  it('is mulberry32 bit for bit (BigInt reference) for awkward seeds', () => {
    for (const seed of [0, 1, 1234, 0x7fffffff, 0xffffffff, -5, 2 ** 40 + 17]) {
      const rng = new SeededRandom(seed);
      const ours = Array.from({ length: 2000 }, () => rng.next());
      expect(ours).toEqual(mulberry32Reference(seed, 2000));
      const fn = seededUniform(seed);
      expect(Array.from({ length: 50 }, fn)).toEqual(ours.slice(0, 50));
    }
  });

  it('repeats for equal seeds and differs for different seeds', () => {
    const draw = (seed: number) => {
      const r = new SeededRandom(seed);
      return Array.from({ length: 50 }, () => r.next());
    };
    expect(draw(1234)).toEqual(draw(1234));
    expect(draw(1234)).not.toEqual(draw(1235));
  });

  it('is uniform on [0, 1): mean, variance and bucket counts within statistical bounds', () => {
    const r = new SeededRandom(7);
    const n = 200_000;
    const buckets = new Array(10).fill(0);
    let s = 0;
    let s2 = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      if (!(u >= 0 && u < 1)) outside++;
      s += u;
      s2 += u * u;
      buckets[Math.floor(u * 10)]++;
    }
    expect(outside).toBe(0);
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(s2 / n - s ** 2 / n ** 2 - 1 / 12)).toBeLessThan(0.002);
    // Chi-square with 9 degrees of freedom: 99.9th percentile ≈ 27.9.
    const chi = buckets.reduce((acc, c) => acc + (c - n / 10) ** 2 / (n / 10), 0);
    expect(chi).toBeLessThan(27.9);
  });

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

  it('shuffles into a permutation, picks, and draws integers in range', () => {
    const items = Array.from({ length: 97 }, (_, i) => i);
    const shuffled = new SeededRandom(5).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
    const rng = new SeededRandom(8);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[rng.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(200); // binomial sd ≈ 29
    expect(() => rng.pick([])).toThrow(/SeededRandom.pick: empty array/);
  });

  it('mixSeed spreads nearby indices', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10000; i++) seen.add(mixSeed(7, i));
    expect(seen.size).toBe(10000);
    expect(mixSeed(7, 3)).not.toBe(mixSeed(8, 3));
    expect(mixSeed(7, 2 ** 32 + 3)).not.toBe(mixSeed(7, 3));
  });
});
