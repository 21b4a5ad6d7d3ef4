import { describe, expect, it } from 'vitest';
import { SeededRng } from './rng.js';

describe('SeededRng', () => {
  it('repeats for equal seeds and differs for different seeds', () => {
    const a = new SeededRng(1234);
    const b = new SeededRng(1234);
    const c = new SeededRng(1235);
    const xa = Array.from({ length: 50 }, () => a.next());
    const xb = Array.from({ length: 50 }, () => b.next());
    const xc = Array.from({ length: 50 }, () => c.next());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });

  it('is uniform on [0, 1): mean, variance and bucket counts within statistical bounds', () => {
    const r = new SeededRng(7);
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
});
