import { embedding, randn, seededUniform, setBackend, type Tensor } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequest } from './harness.js';
import { planBatches, scoreTokenRequests, shareRows } from './token-scorer.js';

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

describe('shareRows', () => {
  it('maps each input to an extension of it, and distinct branches to themselves', () => {
    const inputs = [[1, 2], [1, 2, 3, 4], [1, 2, 3], [1, 3], [2], [1, 2], []];
    const owner = shareRows(inputs);
    owner.forEach((o, i) => {
      expect(inputs[o]!.slice(0, inputs[i]!.length)).toEqual(inputs[i]);
      // Owners are maximal: no other input extends them.
      expect(
        inputs.some((x, j) => j !== o && x.length > inputs[o]!.length && inputs[o]!.every((t, k) => x[k] === t)),
      ).toBe(false);
    });
    expect(new Set(owner).size).toBe(3); // [1,2,3,4], [1,3], [2]
  });
});

describe('scoreTokenRequests', () => {
  it('equals a float64 log-softmax of the logits, whatever the batching', async () => {
    const vocab = 11;
    // A bigram "model": logits[b, t] = table[ids[b, t]].
    const table = randn([vocab, vocab], { seed: 3 }).mul(3);
    const tableData = Float64Array.from(await table.data());
    const lm = { forward: (ids: Tensor) => embedding(table, ids) };
    const random = seededUniform(9);
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
    // Requests sharing inputs (one-token choices after one context) and prefixes of longer requests.
    requests.push(
      { tokens: [4, 5, 6, 7], scored: 1 },
      { tokens: [4, 5, 6, 8], scored: 1 },
      { tokens: [4, 5, 6, 2], scored: 2 },
    );
    requests.push(
      { tokens: [4, 5, 6, 7, 9, 10], scored: 3 },
      { tokens: [4, 5], scored: 1 },
      { tokens: [4, 5, 3], scored: 0 },
    );
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
