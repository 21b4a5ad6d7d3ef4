import { seededUniform } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { fewshotPrefix, sampleShots } from './fewshot.js';
import type { TaskItem } from './task-file.js';

const pool: TaskItem[] = Array.from({ length: 10 }, (_, i) => ({
  kind: 'choice',
  context: `Q${i}:`,
  choices: [`a${i}`, `b${i}`],
  label: i % 2,
  where: `f:${i + 1}`,
}));

describe('few-shot sampling', () => {
  it('is reproducible per (seed, item) and draws distinct shots', () => {
    const a = sampleShots(pool, 4, 1234, 7);
    expect(sampleShots(pool, 4, 1234, 7)).toEqual(a);
    expect(new Set(a).size).toBe(4);
    // Different items and seeds get different draws (with overwhelming probability for these fixed values).
    const draws = new Set([0, 1, 2, 3, 4, 5].map((i) => JSON.stringify(sampleShots(pool, 4, 1234, i))));
    expect(draws.size).toBeGreaterThan(3);
    expect(sampleShots(pool, 4, 99, 7)).not.toEqual(a);
  });

  it('draws every pool item about equally often', () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 2000; i++) for (const s of sampleShots(pool, 3, 5, i)) counts[pool.indexOf(s)]++;
    // 6000 draws over 10 items: 600 each; binomial sd ≈ 23, so ±120 is > 5 sd.
    for (const c of counts) expect(Math.abs(c - 600)).toBeLessThan(120);
  });

  it('seededUniform is uniform in [0, 1)', () => {
    const r = seededUniform(42);
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const x = r();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      sum += x;
    }
    expect(Math.abs(sum / 10000 - 0.5)).toBeLessThan(0.015);
  });

  it('lays shots out as the harness: context + " " + gold, joined and followed by a blank line', () => {
    expect(fewshotPrefix([pool[0]!, pool[1]!])).toBe('Q0: a0\n\nQ1: b1\n\n');
    expect(fewshotPrefix([])).toBe('');
    expect(() => sampleShots(pool, 11, 1, 0)).toThrow(/11 shots requested but the train split has 10/);
  });
});
