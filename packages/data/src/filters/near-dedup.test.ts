import { SeededRandom } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { estimateJaccard, MinHashIndex, nearDedupFilter } from './near-dedup.js';

/** Exact Jaccard similarity of 5-word shingle sets: the reference the MinHash estimate is checked against. */
function exactJaccard(a: string, b: string): number {
  const shingles = (t: string) => {
    const w = t.toLowerCase().split(/\s+/);
    return new Set(Array.from({ length: w.length - 4 }, (_, i) => w.slice(i, i + 5).join(' ')));
  };
  const sa = shingles(a);
  const sb = shingles(b);
  let inter = 0;
  for (const s of sa) if (sb.has(s)) inter++;
  return inter / (sa.size + sb.size - inter);
}

const rng = new SeededRandom(2024);
const vocab = Array.from({ length: 3000 }, () =>
  Array.from({ length: 3 + rng.int(6) }, () => String.fromCharCode(97 + rng.int(26))).join(''),
);
const randomDoc = () => Array.from({ length: 150 + rng.int(150) }, () => rng.pick(vocab));
function edit(words: string[], substitutions: number): string[] {
  const out = [...words];
  for (let i = 0; i < substitutions; i++) out[rng.int(out.length)] = rng.pick(vocab);
  return out;
}

describe('MinHash near-duplicate removal', () => {
  it('estimates Jaccard similarity within sampling error of the exact value', () => {
    const index = new MinHashIndex();
    const base = randomDoc();
    for (const subs of [0, 3, 10, 40]) {
      const a = base.join(' ');
      const b = edit(base, subs).join(' ');
      const exact = exactJaccard(a, b);
      // 128 hash functions: standard error sqrt(J(1−J)/128) ≤ 0.045.
      expect(Math.abs(estimateJaccard(index.signature(a), index.signature(b)) - exact)).toBeLessThan(0.14);
    }
  });

  it('finds planted near-duplicates at ≥ 95% recall with < 1% false positives on a generated corpus', () => {
    const originals = Array.from({ length: 1000 }, randomDoc);
    // Near-duplicates: 1–3 words substituted and sometimes a short tail cut (exact Jaccard ≥ 0.8 checked below);
    // far variants: a third of the words replaced (Jaccard ≈ 0.1), which must be kept.
    const planted = Array.from({ length: 200 }, () => {
      const origin = rng.int(originals.length);
      let words = edit(originals[origin]!, 1 + rng.int(3));
      if (rng.chance(0.3)) words = words.slice(0, words.length - rng.int(4));
      return { origin, text: words.join(' ') };
    });
    const far = Array.from({ length: 100 }, () => edit(rng.pick(originals), 60).join(' '));
    for (const p of planted) expect(exactJaccard(originals[p.origin]!.join(' '), p.text)).toBeGreaterThanOrEqual(0.8);

    const filter = nearDedupFilter({ threshold: 0.8 });
    const keep = (text: string) => filter.apply({ text, meta: {} }) !== null;
    const originalsKept = originals.map((w) => keep(w.join(' ')));
    const stream = new SeededRandom(5).shuffle([...planted.map((p) => p.text), ...far]);
    const kept = new Map(stream.map((t) => [t, keep(t)]));
    const recall = planted.filter((p) => !kept.get(p.text)).length / planted.length;
    const negatives = [...originalsKept, ...far.map((t) => kept.get(t)!)];
    const falsePositiveRate = negatives.filter((k) => !k).length / negatives.length;
    expect(recall).toBeGreaterThanOrEqual(0.95);
    expect(falsePositiveRate).toBeLessThan(0.01);
  });

  it('checks its band layout', () => {
    expect(() => new MinHashIndex({ permutations: 100, bands: 16 })).toThrow(
      /bands \(16\) must divide permutations \(100\)/,
    );
  });
});
