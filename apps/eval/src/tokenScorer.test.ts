import { embedding, randn, setBackend, type Tensor } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from './fewshot.js';
import type { TokenRequest } from './harness.js';
import { planBatches, scoreTokenRequests } from './tokenScorer.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('planBatches', () => {
  it('orders longest first, respects the row and token budgets, and covers every request once', () => {
    const lengths = [5, 9, 1, 9, 3, 7, 2, 8];
    const batches = planBatches(lengths, 3, 20);
    expect(batches.flat().sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(3);
      expect(b.length * Math.max(...b.map((i) => lengths[i]!))).toBeLessThanOrEqual(20);
    }
    expect(batches[0]).toEqual([1, 3]);
    const order = batches.flat().map((i) => lengths[i]!);
    expect(order).toEqual([...order].sort((a, b) => b - a));
  });
});

describe('scoreTokenRequests', () => {
  it('equals a float64 log-softmax of the logits, whatever the batching', async () => {
    const vocab = 11;
    // A bigram "model": logits[b, t] = table[ids[b, t]].
    const table = randn([vocab, vocab], { seed: 3 }).mul(3);
    const tableData = Float64Array.from(await table.data());
    const lm = { forward: (ids: Tensor) => embedding(table, ids) };
    const random = seededRandom(9);
    const requests: TokenRequest[] = Array.from({ length: 13 }, () => {
      const n = 2 + Math.floor(random() * 9);
      const tokens = Array.from({ length: n }, () => Math.floor(random() * vocab));
      return { tokens, scored: 1 + Math.floor(random() * (n - 1)) };
    });
    // A few requests that follow the argmax, so isGreedy is true for some.
    for (let k = 0; k < 3; k++) {
      const tokens = [k];
      for (let t = 0; t < 4 + k; t++) {
        const row = tableData.subarray(tokens[t]! * vocab, (tokens[t]! + 1) * vocab);
        tokens.push(row.indexOf(Math.max(...row)));
      }
      requests.push({ tokens, scored: 2 + k });
    }
    const reference = requests.map(({ tokens, scored }) => {
      let logprob = 0;
      let isGreedy = true;
      for (let t = tokens.length - 1 - scored; t < tokens.length - 1; t++) {
        const row = tableData.subarray(tokens[t]! * vocab, (tokens[t]! + 1) * vocab);
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
        logprob += row[tokens[t + 1]!]! - lse;
        if (row.indexOf(max) !== tokens[t + 1]) isGreedy = false;
      }
      return { logprob, isGreedy };
    });
    for (const [batchSize, maxBatchTokens] of [
      [1, 1000],
      [4, 1000],
      [16, 24],
    ] as const) {
      const progress: number[] = [];
      const got = await scoreTokenRequests(lm, requests, {
        batchSize,
        maxBatchTokens,
        onProgress: (d) => progress.push(d),
      });
      got.forEach((g, i) => {
        expect(g.logprob).toBeCloseTo(reference[i]!.logprob, 4);
        expect(g.isGreedy).toBe(reference[i]!.isGreedy);
      });
      expect(progress.at(-1)).toBe(requests.length);
    }
    expect(reference.some((r) => r.isGreedy)).toBe(true);
  });
});
