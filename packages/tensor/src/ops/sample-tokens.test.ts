import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as T from '../index.js';
import { describeBackends } from '../testing/describe-backends.js';
import { makeRng } from '../testing/reference.js';

function randomLogits(rng: () => number, v: number, spread: number): Float32Array {
  return Float32Array.from({ length: v }, () => (rng() * 2 - 1) * spread);
}

/** Float64 reference, written from the definition without the kernels' shortcuts: each token's probability. */
function referenceProbs(logits: Float32Array, s: T.TokenSampling): number[] {
  const a = Array.from(logits);
  for (const [id, b] of s.logitBias ?? []) a[id] = a[id]! + b;
  const order = a.map((_, i) => i).sort((p, q) => a[q]! - a[p]! || p - q);
  const cand = s.topK > 0 ? order.slice(0, s.topK) : order;
  const m = a[order[0]!]!;
  const w = (i: number) => Math.exp((a[i]! - m) / s.temperature);
  const total = cand.reduce((t, i) => t + w(i), 0);
  let keep = cand.length;
  let acc = 0;
  for (let j = 0; j < cand.length; j++) {
    acc += w(cand[j]!);
    if (acc >= s.topP * total * (1 - 1e-12)) {
      keep = j + 1;
      break;
    }
  }
  const kept = cand.slice(0, keep);
  const mass = kept.reduce((t, i) => t + w(i), 0);
  const probs = new Array<number>(a.length).fill(0);
  for (const i of kept) probs[i] = w(i) / mass;
  return probs;
}

async function ids(logits: T.Tensor, rows: T.TokenSampling[]): Promise<number[]> {
  const out = T.sampleTokens(logits, rows);
  try {
    return Array.from(await out.ids.data());
  } finally {
    out.ids.dispose();
  }
}

const settings = fc.record({
  temperature: fc.oneof(fc.constant(0), fc.double({ min: 0.05, max: 3, noNaN: true })),
  topK: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 })),
  topP: fc.oneof(fc.constant(1), fc.double({ min: 0.05, max: 1, noNaN: true })),
  // As the host draws them: 32 random bits over 2^32 (SeededRandom.next).
  uniform: fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((k) => k / 2 ** 32),
  bias: fc.boolean(),
  penalties: fc.boolean(),
  repetition: fc.oneof(fc.constant(1), fc.double({ min: 0.5, max: 2, noNaN: true })),
});

describeBackends('sampleTokens', () => {
  it('picks exactly the host reference token for every combination of settings (property)', async () => {
    const rng = makeRng(7);
    for (const V of [37, 1001, 4099]) {
      const logits = randomLogits(rng, V, 4);
      const rowsOf = fc.array(settings, { minLength: 1, maxLength: 9 });
      const cases = fc.sample(rowsOf, { seed: V, numRuns: V > 2000 ? 4 : 10 });
      for (const rows of cases) {
        const specs: T.TokenSampling[] = rows.map((r, i) => ({
          temperature: r.temperature,
          topK: r.topK,
          topP: r.topP,
          uniform: r.uniform,
          logitBias: r.bias
            ? new Map([
                [(i * 7) % V, 2.5],
                [V - 1, -1],
                [3, 30],
              ])
            : undefined,
          counts:
            r.penalties || r.repetition !== 1
              ? new Map([
                  [1, 2],
                  [(i * 11) % V, 1],
                  [5, 3],
                ])
              : undefined,
          frequencyPenalty: r.penalties ? 0.4 : 0,
          presencePenalty: r.penalties ? -0.3 : 0,
          repetitionPenalty: r.repetition,
        }));
        const batch = new Float32Array(specs.length * V);
        for (let i = 0; i < specs.length; i++)
          batch.set(
            logits.map((x) => x + i * 0.01),
            i * V,
          );
        const t = T.tensor(batch, [specs.length, V]);
        const got = await ids(t, specs);
        t.dispose();
        const want = specs.map((s, i) => T.sampleTokenRow(batch.subarray(i * V, (i + 1) * V), s));
        expect(got).toEqual(want);
      }
    }
  });

  it('at temperature 0 is the first maximum of the biased logits (ties included)', async () => {
    const V = 515;
    const logits = randomLogits(makeRng(3), 2 * V, 2);
    logits[V + 40] = 9;
    logits[V + 300] = 9; // a tie in row 1: the lower id wins
    const t = T.tensor(logits, [2, V]);
    const rows = [
      { temperature: 0, topK: 0, topP: 1, uniform: 0.5, logitBias: new Map([[77, 50]]) },
      { temperature: 0, topK: 5, topP: 0.3, uniform: 0.9 },
    ];
    expect(await ids(t, rows)).toEqual([77, 40]);
    const plain = await ids(t, [rows[1]!, rows[1]!]);
    const am = t.argmax(-1);
    expect(plain).toEqual(Array.from(await am.data()));
    am.dispose();
    t.dispose();
  });

  it('draws from the float64 reference distribution: a grid of uniforms is the inverse CDF', async () => {
    // The draw walks kept tokens in id order, so uniforms (i + 0.5) / N hit token j about N·p_j times (±1).
    const V = 61;
    const logits = randomLogits(makeRng(11), V, 3);
    const N = 500;
    for (const spec of [
      { temperature: 0.7, topK: 0, topP: 1 },
      { temperature: 1.3, topK: 9, topP: 1 },
      { temperature: 1, topK: 0, topP: 0.6 },
      { temperature: 0.9, topK: 20, topP: 0.8, logitBias: new Map([[3, 4]]) },
    ]) {
      const rows = Array.from({ length: N }, (_, i) => ({ ...spec, uniform: (i + 0.5) / N }));
      const t = T.tensor(
        new Float32Array(N * V).map((_, i) => logits[i % V]!),
        [N, V],
      );
      const got = await ids(t, rows);
      t.dispose();
      const want = referenceProbs(logits, { ...spec, uniform: 0 });
      const counts = new Array<number>(V).fill(0);
      for (const id of got) counts[id]!++;
      for (let j = 0; j < V; j++) {
        expect(Math.abs(counts[j]! - want[j]! * N), `token ${j} of ${JSON.stringify(spec)}`).toBeLessThanOrEqual(1.01);
      }
    }
  });

  it('at temperature alone draws the host token beside every range edge of a long row, with and without entries', async () => {
    // A backend may split a row into equal id ranges (the WebGPU kernel: 64 or 256) and walk only the range whose
    // prefix sum crosses the draw: uniforms in the middle of the first token of a range and of the last token
    // before it would pick a neighbour if a range were skipped wrongly. Those tokens stand out of the bulk, so that
    // float32 sums over 32003 weights land well inside them (a bulk token is thinner than their rounding).
    const V = 32003;
    const logits = randomLogits(makeRng(5), V, 3);
    const edges = new Set<number>([1, V - 1]);
    for (const ranges of [64, 256]) for (let i = 1; i < ranges; i += 9) edges.add(i * Math.ceil(V / ranges));
    for (const j of edges) logits.fill(6, j - 1, j + 1);
    const specs: T.TokenSampling[] = [];
    for (const logitBias of [undefined, new Map([[7, -1.5]])]) {
      const a = Array.from(logits);
      for (const [id, b] of logitBias ?? []) a[id] = Math.fround(a[id]! + b);
      const m = Math.max(...a);
      const cum = [0];
      for (const x of a) cum.push(cum.at(-1)! + Math.exp((x - m) / 0.8));
      const mass = cum[V]!;
      for (const j of edges)
        for (const id of [j - 1, j]) {
          const uniform = (cum[id]! + cum[id + 1]!) / 2 / mass;
          specs.push({ temperature: 0.8, topK: 0, topP: 1, uniform, logitBias });
        }
    }
    const t = T.tensor(
      new Float32Array(specs.length * V).map((_, i) => logits[i % V]!),
      [specs.length, V],
    );
    const got = await ids(t, specs);
    t.dispose();
    expect(got).toEqual(specs.map((s) => T.sampleTokenRow(logits, s)));
  });

  it('applies repetition, frequency and presence penalties in that order (float64 reference, greedy)', async () => {
    const V = 23;
    const logits = Float32Array.from({ length: V }, (_, i) => ((i * 37) % 23) / 5 - 2);
    const rng = makeRng(5);
    const rows: T.TokenSampling[] = [];
    const want: number[] = [];
    for (let r = 0; r < 40; r++) {
      const counts = new Map<number, number>();
      for (let c = 0; c < 6; c++) counts.set(Math.floor(rng() * V), 1 + Math.floor(rng() * 3));
      const s = {
        temperature: 0,
        topK: 0,
        topP: 1,
        uniform: 0,
        counts,
        repetitionPenalty: 0.5 + rng() * 2,
        frequencyPenalty: rng() - 0.5,
        presencePenalty: rng() - 0.5,
      };
      rows.push(s);
      const a = Array.from(logits, (x, id) => {
        const n = counts.get(id) ?? 0;
        if (n === 0) return x;
        const scaled = x > 0 ? x / s.repetitionPenalty : x * s.repetitionPenalty;
        return scaled - s.frequencyPenalty * n - s.presencePenalty;
      });
      want.push(a.indexOf(Math.max(...a)));
    }
    const t = T.tensor(
      new Float32Array(40 * V).map((_, i) => logits[i % V]!),
      [40, V],
    );
    expect(await ids(t, rows)).toEqual(want);
    t.dispose();
  });

  it('returns the raw logits log-probabilities of the chosen and the top-n tokens', async () => {
    const V = 777;
    const B = 3;
    const data = randomLogits(makeRng(9), B * V, 5);
    const t = T.tensor(data, [B, V]);
    const rows = [0.1, 0.5, 0.9].map((uniform) => ({ temperature: 1, topK: 0, topP: 0.9, uniform }));
    const out = T.sampleTokens(t, rows, { topLogprobs: 4 });
    const chosen = Array.from(await out.ids.data());
    const lp = await out.logprob!.data();
    const topIds = Array.from(await out.topIds!.data());
    const topLp = await out.topLogprobs!.data();
    for (let r = 0; r < B; r++) {
      const x = Array.from(data.subarray(r * V, (r + 1) * V));
      const m = Math.max(...x);
      const lse = m + Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
      expect(lp[r]).toBeCloseTo(x[chosen[r]!]! - lse, 4);
      const order = x.map((_, i) => i).sort((p, q) => x[q]! - x[p]! || p - q);
      expect(topIds.slice(r * 4, r * 4 + 4)).toEqual(order.slice(0, 4));
      for (let j = 0; j < 4; j++) expect(topLp[r * 4 + j]).toBeCloseTo(x[order[j]!]! - lse, 4);
    }
    for (const x of [out.ids, out.logprob!, out.topIds!, out.topLogprobs!]) x.dispose();
    const zero = T.sampleTokens(t, rows, { topLogprobs: 0 });
    expect(zero.topIds).toBeUndefined();
    expect(Array.from(await zero.ids.data())).toEqual(chosen);
    zero.ids.dispose();
    zero.logprob!.dispose();
    t.dispose();
  });

  it('rejects bad input, naming the op, shapes, row and setting', () => {
    const t = T.tensor(new Float32Array(6).fill(1), [2, 3]);
    const ok = { temperature: 1, topK: 0, topP: 1, uniform: 0.5 };
    expect(() => T.sampleTokens(t, [ok])).toThrow(/sampleTokens: 1 rows of settings for logits \[2, 3\]/);
    expect(() => T.sampleTokens(t, [ok, { ...ok, topP: 0 }])).toThrow(/row 1: topP must lie in/);
    expect(() => T.sampleTokens(t, [ok, { ...ok, uniform: 1 }])).toThrow(/row 1: uniform/);
    expect(() => T.sampleTokens(t, [{ ...ok, topK: -2 }, ok])).toThrow(/row 0: topK/);
    expect(() => T.sampleTokens(t, [ok, ok], { topLogprobs: 4 })).toThrow(
      /topLogprobs must be an integer in \[-1, 3\]/,
    );
    const flat = T.tensor(new Float32Array(3), [3]);
    expect(() => T.sampleTokens(flat, [ok])).toThrow(/logits must be \[rows, vocab\]/);
    flat.dispose();
    t.dispose();
  });
});
