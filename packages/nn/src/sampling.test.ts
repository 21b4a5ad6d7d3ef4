import { SeededRandom } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { argmax, DEFAULT_SAMPLING, Sampler, type SamplingParams, tokenLogprobs, topKIndices } from './sampling.js';

function randomLogits(v: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  return Float32Array.from({ length: v }, () => rng.next() * 6 - 3);
}

/** Float64 reference of the target distribution: temperature, top-k, top-p, renormalize. */
function referenceProbs(logits: Float32Array, p: SamplingParams): number[] {
  const x = Array.from(logits, (l, i) => l + (p.logitBias.get(i) ?? 0));
  const order = x.map((_, i) => i).sort((a, b) => x[b]! - x[a]! || a - b);
  const keepK = p.topK > 0 ? order.slice(0, p.topK) : order;
  const m = x[keepK[0]!]!;
  const w = keepK.map((i) => Math.exp((x[i]! - m) / p.temperature));
  const z = w.reduce((a, b) => a + b, 0);
  let keep = keepK.length;
  let acc = 0;
  for (let j = 0; j < keepK.length; j++) {
    acc += w[j]! / z;
    if (acc >= p.topP - 1e-12) {
      keep = j + 1;
      break;
    }
  }
  const z2 = w.slice(0, keep).reduce((a, b) => a + b, 0);
  const probs = new Array(x.length).fill(0);
  for (let j = 0; j < keep; j++) probs[keepK[j]!] = w[j]! / z2;
  return probs;
}

function empirical(logits: Float32Array, params: SamplingParams, draws: number): number[] {
  const s = new Sampler(params);
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[s.sample(logits)]++;
  return counts.map((c) => c / draws);
}

describe('Sampler', () => {
  const logits = randomLogits(37, 5);

  for (const [name, over] of [
    ['temperature 0.7', { temperature: 0.7 }],
    ['top-k 5', { temperature: 1.3, topK: 5 }],
    ['top-p 0.6', { temperature: 1, topP: 0.6 }],
    ['top-k 10 + top-p 0.8 + bias', { temperature: 0.9, topK: 10, topP: 0.8, logitBias: new Map([[3, 4]]) }],
  ] as const) {
    it(`draws from the float64 reference distribution (${name})`, () => {
      const params = { ...DEFAULT_SAMPLING, seed: 11, ...over } as SamplingParams;
      const want = referenceProbs(logits, params);
      const got = empirical(logits, params, 40_000);
      for (let i = 0; i < want.length; i++) {
        // 5 standard errors of a binomial proportion, plus a floor for p≈0.
        const se = Math.sqrt((want[i]! * (1 - want[i]!)) / 40_000);
        expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(5 * se + 1e-9);
      }
    });
  }

  it('finds the nucleus when most of it lies far below the most likely token (wide logits, top-p 0.999)', () => {
    const wide = randomLogits(300, 9).map((x) => x * 6); // logits in [-18, 18]: weights span 1e-16…1
    const params = { ...DEFAULT_SAMPLING, seed: 3, temperature: 1, topP: 0.999 };
    const want = referenceProbs(wide, params);
    const got = empirical(wide, params, 40_000);
    for (let i = 0; i < want.length; i++) {
      const se = Math.sqrt((want[i]! * (1 - want[i]!)) / 40_000);
      expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(5 * se + 1e-9);
    }
  });

  it('is greedy (first maximum) at temperature 0, with bias applied', () => {
    const l = new Float32Array([0.5, 2, 2, -1]);
    expect(new Sampler({ ...DEFAULT_SAMPLING, temperature: 0 }).sample(l)).toBe(1);
    const biased = new Sampler({ ...DEFAULT_SAMPLING, temperature: 0, logitBias: new Map([[3, 100]]) });
    expect(biased.sample(l)).toBe(3);
  });

  it('applies frequency and presence penalties to generated tokens', () => {
    const l = new Float32Array([1, 0.9, 0.2]);
    const s = new Sampler({ ...DEFAULT_SAMPLING, temperature: 0, frequencyPenalty: 0.3, presencePenalty: 0 });
    expect(s.sample(l)).toBe(0);
    s.observe(0);
    expect(s.sample(l)).toBe(1); // 1 - 0.3 < 0.9
    const p = new Sampler({ ...DEFAULT_SAMPLING, temperature: 0, presencePenalty: 0.05 });
    p.observe(0);
    p.observe(0);
    expect(p.sample(l)).toBe(0); // presence counts once: 1 - 0.05 > 0.9
  });

  it('repeats the same draws for the same seed', () => {
    const a = new Sampler({ ...DEFAULT_SAMPLING, seed: 42 });
    const b = new Sampler({ ...DEFAULT_SAMPLING, seed: 42 });
    const da = Array.from({ length: 30 }, () => a.sample(logits));
    expect(Array.from({ length: 30 }, () => b.sample(logits))).toEqual(da);
  });
});

describe('tokenLogprobs / topKIndices', () => {
  it('matches a float64 log-softmax and sorted top-k', () => {
    const l = randomLogits(101, 3);
    const x = Array.from(l);
    const m = Math.max(...x);
    const lse = m + Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0));
    const r = tokenLogprobs(l, 17, 4);
    expect(r.logprob).toBeCloseTo(x[17]! - lse, 10);
    const order = x.map((_, i) => i).sort((a, b) => x[b]! - x[a]! || a - b);
    expect(r.top.map((t) => t.id)).toEqual(order.slice(0, 4));
    expect(Array.from(topKIndices(l, 9))).toEqual(order.slice(0, 9));
  });
});

// The cases below were written for nn's former `sampleToken`; they keep their assertions on the one Sampler.
describe('Sampler (small vocabulary)', () => {
  const logits = Float32Array.from([0.5, 2, -1, 1.5, 0, 3, -2, 1]);

  it('temperature 0 (and topK 1) is argmax', () => {
    expect(new Sampler({ temperature: 0, seed: 1 }).sample(logits)).toBe(5);
    expect(new Sampler({ topK: 1, seed: 1 }).sample(logits)).toBe(5);
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });

  it('draws from softmax(logits / T): frequencies match the probabilities', () => {
    const sampler = new Sampler({ temperature: 0.8, seed: 42 });
    const n = 40_000;
    const counts = new Array(8).fill(0);
    for (let i = 0; i < n; i++) counts[sampler.sample(logits)]++;
    const e = [...logits].map((v) => Math.exp(v / 0.8));
    const z = e.reduce((a, b) => a + b, 0);
    e.forEach((p, i) => {
      const expected = (p / z) * n;
      // 5 standard deviations of a binomial count.
      expect(Math.abs(counts[i] - expected)).toBeLessThan(5 * Math.sqrt(expected) + 1);
    });
  });

  it('topK and topP keep only the most likely tokens', () => {
    const k = new Sampler({ topK: 3, seed: 3 });
    const p = new Sampler({ topP: 0.8, seed: 4 });
    const seenK = new Set<number>();
    const seenP = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      seenK.add(k.sample(logits));
      seenP.add(p.sample(logits));
    }
    expect([...seenK].sort()).toEqual([1, 3, 5]);
    // Probabilities sorted: 5 (.52), 1 (.19), 3 (.12), 7 (.07), …: 0.8 needs the first three.
    expect([...seenP].sort()).toEqual([1, 3, 5]);
  });

  it('is deterministic per seed (also beyond 32 bits) and rejects bad options, naming them', () => {
    const draws = (seed: number) => {
      const s = new Sampler({ seed });
      return Array.from({ length: 40 }, () => s.sample(logits));
    };
    expect(draws(9)).toEqual(draws(9));
    expect(draws(2 ** 40 + 9)).toEqual(draws(2 ** 40 + 9));
    expect(draws(2 ** 40 + 9)).not.toEqual(draws(9));
    expect(() => new Sampler({ temperature: -1 })).toThrow(/temperature/);
    expect(() => new Sampler({ topP: 0 })).toThrow(/topP/);
    expect(() => new Sampler({ topK: 1.5 })).toThrow(/topK/);
    expect(() => new Sampler({ frequencyPenalty: Number.NaN })).toThrow(/frequencyPenalty/);
    expect(() => new Sampler({ logitBias: new Map([[2, Number.POSITIVE_INFINITY]]) })).toThrow(/logitBias of token 2/);
    expect(() => new Sampler().sample(new Float32Array(0))).toThrow(/empty logits/);
  });

  it('isPlainGreedy holds exactly while the choice is the raw argmax', () => {
    expect(new Sampler({ temperature: 0 }).isPlainGreedy()).toBe(true);
    expect(new Sampler({ temperature: 0.5 }).isPlainGreedy()).toBe(false);
    expect(new Sampler({ temperature: 0, logitBias: new Map([[0, 1]]) }).isPlainGreedy()).toBe(false);
    const penalized = new Sampler({ temperature: 0, presencePenalty: 0.5 });
    expect(penalized.isPlainGreedy()).toBe(true);
    penalized.observe(5);
    expect(penalized.isPlainGreedy()).toBe(false);
    expect(penalized.sample(logits)).toBe(5); // 3 - 0.5 still beats 2
  });
});
