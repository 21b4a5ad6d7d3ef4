import {
  bfloat16BitsToFloat32,
  concat,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  memory,
  type Tensor,
} from '@andes/tensor';
import { describeBackends } from '@andes/tensor/testing';
import { expect, it } from 'vitest';
import { hostWeights, randomIds, readAndFree, relativeDiff } from '../test/helpers.js';
import { referenceLogits } from '../test/reference-llama.js';
import { llamaConfig } from './config.js';
import { LlamaForCausalLM } from './llama.js';
import { forwardPaged, forwardPagedBetweenLayers } from './paged-forward.js';
import { PagedKvCache } from './paged-kv-cache.js';

const config = llamaConfig({
  vocab_size: 41,
  hidden_size: 24,
  intermediate_size: 40,
  num_hidden_layers: 2,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  max_position_embeddings: 40,
  rope_theta: 500,
  tie_word_embeddings: false,
});
const V = config.vocab_size;

/** What a cache of `dtype` holds of a key or value (for the float64 reference); undefined for float32. */
function kvRounding(dtype: 'float32' | 'float16' | 'bfloat16'): ((x: number) => number) | undefined {
  if (dtype === 'float16') return (x) => float16BitsToFloat32(float32ToFloat16Bits(x));
  if (dtype === 'bfloat16') return (x) => bfloat16BitsToFloat32(float32ToBfloat16Bits(x));
  return undefined;
}

describeBackends('forwardPaged', () => {
  it('steps mixing prefill chunks and decodes of ragged sequences match a float64 forward of each sequence', async () => {
    const model = new LlamaForCausalLM(config, { seed: 9 });
    const seqs = randomIds(4, 23, V, 5);
    const want = referenceLogits(config, await hostWeights(model), seqs);
    // Blocks of 5 positions, so chunks and decodes straddle block ends; one block spare.
    const cache = new PagedKvCache(config, { numBlocks: 4 * 5 + 1, blockSize: 5 });
    const done = [0, 0, 0, 0];
    // Per step, tokens to feed for each sequence (0: not in this step). Sequence 3 arrives late, sequence 1 decodes
    // from its second step on, sequence 2 prefills in three chunks while the others decode.
    const plan = [
      [7, 1, 4, 0],
      [1, 1, 6, 0],
      [1, 1, 9, 11],
      [1, 1, 1, 1],
      [1, 1, 1, 1],
    ];
    for (let s = 0; s < 4; s++) cache.pool.open(s);
    for (const [step, counts] of plan.entries()) {
      const chunks = counts.flatMap((n, s) => {
        if (n === 0) return [];
        expect(cache.pool.grow(s, done[s]! + n)).toBe(true);
        return [{ seq: s, ids: seqs[s]!.slice(done[s], done[s]! + n), start: done[s]!, allLogits: s === 2 }];
      });
      const logits = await readAndFree(forwardPaged(model, chunks, cache));
      let r = 0;
      for (const c of chunks) {
        const positions = c.allLogits ? c.ids.map((_, j) => c.start + j) : [c.start + c.ids.length - 1];
        const mine = logits.subarray(r * V, (r + positions.length) * V);
        const ref = Float64Array.from(positions.flatMap((p) => [...want[c.seq]![p]!]));
        expect(relativeDiff(mine, ref), `step ${step}, sequence ${c.seq}`).toBeLessThan(2e-4);
        r += positions.length;
        done[c.seq] = c.start + c.ids.length;
      }
      expect(r * V).toBe(logits.length);
    }
    expect(done).toEqual([11, 5, 21, 13]);
    for (let s = 0; s < 4; s++) cache.pool.close(s);
    expect(cache.pool.freeBlocks).toBe(cache.pool.numBlocks);
    cache.dispose();
    model.dispose();
  });

  it('prompt chunks with skipLogits give no logits row (a step of only such chunks gives [0, V]) and fill the cache', async () => {
    const model = new LlamaForCausalLM(config, { seed: 4 });
    const [a, b] = randomIds(2, 11, V, 6) as [number[], number[]];
    const want = referenceLogits(config, await hostWeights(model), [a, b]);
    const cache = new PagedKvCache(config, { numBlocks: 8, blockSize: 4 });
    cache.pool.open(0);
    cache.pool.open(1);
    cache.pool.grow(0, 9);
    cache.pool.grow(1, 7);
    // Step 1: A's first 5 prompt tokens (skipped) beside B's 7-token prompt: one row, B's.
    const first = forwardPaged(
      model,
      [
        { seq: 0, ids: a.slice(0, 5), start: 0, skipLogits: true },
        { seq: 1, ids: b.slice(0, 7), start: 0 },
      ],
      cache,
    );
    expect(first.shape).toEqual([1, V]);
    expect(relativeDiff(await readAndFree(first), Float64Array.from(want[1]![6]!))).toBeLessThan(2e-4);
    // Step 2: A's next 4 alone, skipped: no rows at all.
    const none = forwardPaged(model, [{ seq: 0, ids: a.slice(5, 9), start: 5, skipLogits: true }], cache);
    expect(none.shape).toEqual([0, V]);
    none.dispose();
    // Step 3: A's last 2 prompt tokens beside B's decode read the keys/values the skipped steps wrote.
    cache.pool.grow(0, 11);
    cache.pool.grow(1, 8);
    const last = await readAndFree(
      forwardPaged(
        model,
        [
          { seq: 0, ids: a.slice(9, 11), start: 9 },
          { seq: 1, ids: b.slice(7, 8), start: 7 },
        ],
        cache,
      ),
    );
    expect(relativeDiff(last.subarray(0, V), Float64Array.from(want[0]![10]!))).toBeLessThan(2e-4);
    expect(relativeDiff(last.subarray(V), Float64Array.from(want[1]![7]!))).toBeLessThan(2e-4);
    cache.pool.close(0);
    cache.pool.close(1);
    cache.dispose();
    model.dispose();
  });

  // Half caches too: the copied positions are the halves A wrote (bits, no second rounding).
  it.each(['float32', 'float16', 'bfloat16'] as const)(
    'a second sequence with the same system prompt shares its full blocks, copies the rest, computes the same logits (%s)',
    async (dtype) => {
      const model = new LlamaForCausalLM(config, { seed: 3 });
      const [system, tailA, tailB] = randomIds(3, 11, V, 8) as [number[], number[], number[]];
      const a = [...system, ...tailA.slice(0, 3)];
      const b = [...system, ...tailB.slice(0, 6)];
      const want = referenceLogits(config, await hostWeights(model), [a, b], kvRounding(dtype));
      const cache = new PagedKvCache(config, { numBlocks: 8, blockSize: 4, dtype });
      const { pool } = cache;
      pool.open(0);
      pool.grow(0, a.length);
      const la = await readAndFree(forwardPaged(model, [{ seq: 0, ids: a, start: 0 }], cache));
      expect(relativeDiff(la, Float64Array.from(want[0]![a.length - 1]!))).toBeLessThan(2e-4);
      const usedByA = pool.usedBlocks; // ⌈14 / 4⌉ = 4
      // B reuses the two full blocks of the 11-token system prompt (8 positions), copies the other 3 from A's third
      // block into a block of its own, and prefills only the rest.
      expect(pool.blocksToAdmit(b, b.length)).toBe(pool.blocksFor(b.length) - 2);
      expect(pool.open(1, b)).toBe(11);
      expect(pool.table(1).slice(0, 2)).toEqual(pool.table(0).slice(0, 2));
      pool.grow(1, b.length);
      expect(pool.usedBlocks).toBe(usedByA + pool.blocksFor(b.length) - 2);
      const lb = await readAndFree(forwardPaged(model, [{ seq: 1, ids: b.slice(11), start: 11 }], cache));
      expect(relativeDiff(lb, Float64Array.from(want[1]![b.length - 1]!))).toBeLessThan(2e-4);
      // A leaves: the shared blocks stay with B; when B leaves too, every block is free again (cached for reuse).
      pool.close(0);
      expect(pool.usedBlocks).toBe(pool.blocksFor(b.length));
      pool.close(1);
      expect([pool.usedBlocks, pool.freeBlocks]).toEqual([0, 8]);
      expect(pool.cachedBlocks).toBeGreaterThan(0);
      cache.dispose();
      model.dispose();
    },
  );

  it('a whole prefill run between the layers of another step computes what both compute apart, and frees all', async () => {
    // Three layers, so there are three boundaries (one after each): the nested prefill runs at the second.
    const deep = llamaConfig({ ...config, num_hidden_layers: 3 });
    const model = new LlamaForCausalLM(deep, { seed: 21 });
    const seqs = randomIds(3, 17, V, 12); // 0 and 1 decode after a prefill, 2 arrives between layers
    const want = referenceLogits(deep, await hostWeights(model), seqs);
    const cache = new PagedKvCache(deep, { numBlocks: 16, blockSize: 4 });
    const { pool } = cache;
    for (const s of [0, 1]) {
      pool.open(s);
      pool.grow(s, 13);
      (await readAndFree(forwardPaged(model, [{ seq: s, ids: seqs[s]!.slice(0, 12), start: 0 }], cache))).fill(0);
    }
    const before = memory().tensors;
    let boundaries = 0;
    let nested: Float32Array | null = null;
    const decodes = [0, 1].map((s) => ({ seq: s, ids: [seqs[s]![12]!], start: 12 }));
    const outer = await forwardPagedBetweenLayers(model, decodes, cache, () => {
      if (++boundaries !== 2) return undefined;
      pool.open(2);
      pool.grow(2, 17);
      return readAndFree(forwardPaged(model, [{ seq: 2, ids: seqs[2]!, start: 0 }], cache)).then((l) => {
        nested = l;
      });
    });
    const logits = await readAndFree(outer);
    expect(boundaries).toBe(3);
    expect(relativeDiff(nested!, Float64Array.from(want[2]![16]!))).toBeLessThan(2e-4);
    for (const s of [0, 1]) {
      expect(relativeDiff(logits.subarray(s * V, (s + 1) * V), Float64Array.from(want[s]![12]!))).toBeLessThan(2e-4);
    }
    expect([pool.length(0), pool.length(1), pool.length(2)]).toEqual([13, 13, 17]);
    expect(memory().tensors).toBe(before);
    // A failing boundary frees the step's tensors too and commits nothing.
    for (const s of [0, 1]) pool.grow(s, 14);
    const next = [0, 1].map((s) => ({ seq: s, ids: [seqs[s]![13]!], start: 13 }));
    await expect(
      forwardPagedBetweenLayers(model, next, cache, () => Promise.reject(new Error('boundary failed'))),
    ).rejects.toThrow(/boundary failed/);
    expect([pool.length(0), pool.length(1)]).toEqual([13, 13]);
    expect(memory().tensors).toBe(before);
    cache.dispose();
    model.dispose();
  });

  it('with head: false, returns final hidden rows; one output projection over two forwards gives both their logits', async () => {
    const model = new LlamaForCausalLM(config, { seed: 13 });
    const seqs = randomIds(3, 15, V, 17);
    const want = referenceLogits(config, await hostWeights(model), seqs);
    const cache = new PagedKvCache(config, { numBlocks: 12, blockSize: 4 });
    for (const [s, n] of [15, 9, 15].entries()) {
      cache.pool.open(s);
      cache.pool.grow(s, n);
    }
    const before = memory().tensors;
    // A step (sequence 0's prompt, sequence 1's prompt with every row) and a forward between its layers (sequence 2).
    let nested: Tensor | undefined;
    const first = [
      { seq: 0, ids: seqs[0]!, start: 0 },
      { seq: 1, ids: seqs[1]!.slice(0, 9), start: 0, allLogits: true },
    ];
    const hidden = await forwardPagedBetweenLayers(
      model,
      first,
      cache,
      () => {
        nested ??= forwardPaged(model, [{ seq: 2, ids: seqs[2]!, start: 0 }], cache, { head: false });
        return undefined;
      },
      { head: false },
    );
    expect([hidden.shape, nested!.shape]).toEqual([
      [10, config.hidden_size],
      [1, config.hidden_size],
    ]);
    const both = concat([hidden, nested!], 0);
    const logits = await readAndFree(model.logits(both));
    for (const t of [hidden, nested!, both]) t.dispose();
    const wanted = [want[0]![14]!, ...want[1]!.slice(0, 9), want[2]![14]!];
    wanted.forEach((ref, r) => {
      expect(relativeDiff(logits.subarray(r * V, (r + 1) * V), Float64Array.from(ref)), `row ${r}`).toBeLessThan(2e-4);
    });
    expect(memory().tensors).toBe(before);
    expect([0, 1, 2].map((s) => cache.pool.length(s))).toEqual([15, 9, 15]);
    cache.dispose();
    model.dispose();
  });

  // A half paged cache rounds each new key/value to nearest even as it is written and attends the values it holds,
  // the current chunk's own included: a float64 forward whose keys and values are rounded the same way is the
  // reference. The rounding is real: the float64 forward without it is further off.
  it.each(['float16', 'bfloat16'] as const)(
    'a %s cache matches float64 attending rounded keys and values',
    async (dtype) => {
      const model = new LlamaForCausalLM(config, { seed: 4 });
      const seqs = randomIds(2, 14, V, 8);
      const weights = await hostWeights(model);
      const want = referenceLogits(config, weights, seqs, kvRounding(dtype));
      const exact = referenceLogits(config, weights, seqs);
      const paged = new PagedKvCache(config, { numBlocks: 8, blockSize: 4, dtype });
      expect(paged.keys[0]!.dtype).toBe(dtype);
      expect(paged.bytes).toBe(PagedKvCache.bytesPerBlock(config, 4, dtype) * 8);
      expect(PagedKvCache.bytesPerBlock(config, 4, dtype) * 2).toBe(PagedKvCache.bytesPerBlock(config, 4));
      // A half cache needs rows of whole words (num_key_value_heads × head_dim even): said at construction.
      const odd = { ...config, hidden_size: 21, num_attention_heads: 3, num_key_value_heads: 1 };
      expect(() => new PagedKvCache(odd, { numBlocks: 2, dtype })).toThrow(
        /needs an even num_key_value_heads × head_dim, got 1 × 7/,
      );
      for (let s = 0; s < 2; s++) paged.pool.open(s);
      let worst = 0;
      let worstExact = 0;
      // A prefill chunk of 11 (blocks of 4: straddling), then two decodes, both sequences in every step.
      for (const [from, to] of [
        [0, 11],
        [11, 12],
        [12, 13],
      ] as const) {
        const chunks = [0, 1].map((s) => {
          expect(paged.pool.grow(s, to)).toBe(true);
          return { seq: s, ids: seqs[s]!.slice(from, to), start: from };
        });
        const got = await readAndFree(forwardPaged(model, chunks, paged));
        for (const s of [0, 1]) {
          const mine = got.subarray(s * V, (s + 1) * V);
          worst = Math.max(worst, relativeDiff(mine, want[s]![to - 1]!));
          worstExact = Math.max(worstExact, relativeDiff(mine, exact[s]![to - 1]!));
        }
      }
      expect(worst).toBeLessThan(2e-4);
      expect(worstExact).toBeGreaterThan(2 * worst);
      paged.dispose();
      model.dispose();
    },
  );

  it('rejects chunks that do not extend their sequence or lack blocks, naming the sequence', () => {
    const model = new LlamaForCausalLM(config, { seed: 1 });
    const cache = new PagedKvCache(config, { numBlocks: 2, blockSize: 4 });
    cache.pool.open(7);
    cache.pool.grow(7, 4);
    expect(() => forwardPaged(model, [{ seq: 7, ids: [1, 2], start: 1 }], cache)).toThrow(
      /sequence 7 holds 0 positions, chunk starts at 1/,
    );
    expect(() => forwardPaged(model, [{ seq: 7, ids: [1, 2, 3, 4, 5], start: 0 }], cache)).toThrow(
      /sequence 7 has blocks for 4 positions/,
    );
    expect(cache.pool.grow(7, 12)).toBe(false);
    cache.dispose();
    model.dispose();
  });
});
