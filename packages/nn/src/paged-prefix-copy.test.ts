import { memory } from '@andes/tensor';
import { describeBackends } from '@andes/tensor/testing';
import { expect, it } from 'vitest';
import { hostWeights, maxAbsDiff, randomIds, readAndFree, relativeDiff } from '../test/helpers.js';
import { referenceLogits } from '../test/reference-llama.js';
import { llamaConfig } from './config.js';
import { LlamaForCausalLM } from './llama.js';
import { forwardPaged } from './paged-forward.js';
import { PagedKvCache } from './paged-kv-cache.js';

const config = llamaConfig({
  vocab_size: 43,
  hidden_size: 24,
  intermediate_size: 40,
  num_hidden_layers: 2,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  max_position_embeddings: 48,
  rope_theta: 500,
  tie_word_embeddings: false,
});
const V = config.vocab_size;

describeBackends('partial-block prefix copies', () => {
  it('copyPositions copies the first k positions of a block in every layer and leaves every other row alone', async () => {
    const model = new LlamaForCausalLM(config, { seed: 5 });
    const cache = new PagedKvCache(config, { numBlocks: 6, blockSize: 7 });
    const { pool } = cache;
    // Fill three blocks with keys/values of a real prefill (random-looking, never zero).
    pool.open(0);
    pool.grow(0, 20);
    (await readAndFree(forwardPaged(model, [{ seq: 0, ids: randomIds(1, 20, V, 3)[0]!, start: 0 }], cache))).fill(0);
    const [a, , c] = pool.table(0) as [number, number, number];
    const before = await Promise.all([...cache.keys, ...cache.values].map((t) => t.data()));
    const tensors = memory().tensors;
    cache.copyPositions([
      { seq: 1, source: a, destination: c, positions: 5 },
      { seq: 2, source: c, destination: 4, positions: 3 },
    ]);
    expect(memory().tensors).toBe(tensors);
    const after = await Promise.all([...cache.keys, ...cache.values].map((t) => t.data()));
    const row = cache.numKvHeads * cache.headDim; // floats per position
    after.forEach((now, t) => {
      const was = before[t]!;
      const want = Float32Array.from(was);
      // copyRows stages every source row before any write: both copies read the pool as it was before either wrote.
      want.set(was.subarray(a * 7 * row, (a * 7 + 5) * row), c * 7 * row);
      want.set(was.subarray(c * 7 * row, (c * 7 + 3) * row), 4 * 7 * row);
      expect(maxAbsDiff(now, want), `pool ${t}`).toBe(0);
      expect(maxAbsDiff(now, was)).toBeGreaterThan(0);
    });
    expect(() => cache.copyPositions([{ seq: 3, source: 1, destination: 1, positions: 2 }])).toThrow(
      /copy 0 \(sequence 3\) of 2 positions from block 1 to 1 does not fit a pool of 6 blocks of 7/,
    );
    cache.dispose();
    model.dispose();
  });

  it('a sequence admitted with a partial-block copy computes what a float64 forward of its whole prompt computes', async () => {
    const model = new LlamaForCausalLM(config, { seed: 8 });
    const bs = 5;
    const [system, tailA, tailB, other] = randomIds(4, 30, V, 13) as [number[], number[], number[], number[]];
    // A: 13 shared ids then its own (six whole blocks of 5); B shares A's first 13 (two whole blocks and 3 ids of the
    // third).
    const a = [...system.slice(0, 13), ...tailA.slice(0, 17)];
    const b = [...system.slice(0, 13), ...tailB.slice(0, 9)];
    b[13] = (a[13]! + 1) % V; // so the shared prefix is exactly 13
    const c = other.slice(0, 22);
    const want = referenceLogits(config, await hostWeights(model), [a, b, c]);
    // A tight pool: after A closes, C's growth must evict cached blocks; B's copy source must not be among them.
    const cache = new PagedKvCache(config, { numBlocks: 11, blockSize: bs });
    const { pool } = cache;
    pool.open(0);
    pool.grow(0, a.length);
    (await readAndFree(forwardPaged(model, [{ seq: 0, ids: a, start: 0 }], cache))).fill(0);
    pool.close(0); // its six blocks stay cached, evictable
    const hit = pool.lookupPrefix(b, b.length - 1);
    expect(hit.tokens).toBe(13);
    expect(pool.open(1, b, b.length - 1)).toBe(13);
    expect(pool.grow(1, b.length)).toBe(true);
    // C takes every other block (two empty ones, then A's cached tail evicted), and its forward runs B's pending copy
    // before its own writes.
    pool.open(2);
    expect(pool.grow(2, c.length)).toBe(true);
    expect([pool.freeBlocks, pool.cachedBlocks]).toEqual([0, 0]);
    expect(pool.table(2)).not.toContain(hit.copy!.source);
    expect(pool.pendingCopies).toBe(1);
    const lc = await readAndFree(forwardPaged(model, [{ seq: 2, ids: c, start: 0 }], cache));
    expect(pool.pendingCopies).toBe(0);
    expect(relativeDiff(lc, want[2]![c.length - 1]!)).toBeLessThan(2e-4);
    // B computes only its last 9 positions, every one of them against the reference.
    const lb = await readAndFree(
      forwardPaged(model, [{ seq: 1, ids: b.slice(13), start: 13, allLogits: true }], cache),
    );
    for (let p = 13; p < b.length; p++) {
      expect(relativeDiff(lb.subarray((p - 13) * V, (p - 12) * V), want[1]![p]!), `position ${p}`).toBeLessThan(2e-4);
    }
    for (const s of [1, 2]) pool.close(s);
    expect(pool.freeBlocks).toBe(11);
    cache.dispose();
    model.dispose();
  });
});
