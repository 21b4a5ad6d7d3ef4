import { argmax, LlamaForCausalLM, llamaConfig, PagedKvCache, tokenLogprobs } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { LlamaEngine } from './llama-engine.js';

let model: LlamaForCausalLM;

beforeAll(async () => {
  await setBackend('cpu');
  model = new LlamaForCausalLM(
    llamaConfig({
      vocab_size: 50,
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: 3,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: 64,
    }),
    { seed: 2 },
  );
});

describe('LlamaEngine paged KV cache', () => {
  it('allocates blocks for max-batch full contexts, or as many as the memory budget holds', () => {
    // Per block of 16 positions: 2 (k, v) × 4 bytes × 3 layers × 16 positions × 1 kv head × 8 head dims.
    const perBlock = 2 * 4 * 3 * 16 * 1 * 8;
    expect(PagedKvCache.bytesPerBlock(model.config)).toBe(perBlock);
    const full = new LlamaEngine(model, { maxSlots: 4, maxContext: 40 });
    // ⌈40 / 16⌉ = 3 blocks per context.
    expect([full.maxSlots, full.maxContext, full.blocks.numBlocks, full.cache.bytes]).toEqual([
      4,
      40,
      12,
      12 * perBlock,
    ]);
    full.dispose();
    const limited = new LlamaEngine(model, { maxSlots: 4, maxContext: 40, kvBudgetBytes: 7.5 * perBlock });
    expect([limited.maxSlots, limited.blocks.numBlocks]).toEqual([4, 7]);
    limited.dispose();
    const capped = new LlamaEngine(model, { maxSlots: 2, maxContext: 1000 });
    expect(capped.maxContext).toBe(64); // never more than the model's positions
    capped.dispose();
    expect(() => new LlamaEngine(model, { maxSlots: 4, maxContext: 40, kvBudgetBytes: 3 * perBlock - 1 })).toThrow(
      /needs 3 KV blocks .* lower --context/,
    );
  });

  it('with cutIns, a cut-in posted during a step joins its output projection, computing what a step would', async () => {
    const engine = new LlamaEngine(model, { maxSlots: 3, maxContext: 32, blockSize: 4, cutIns: true });
    const plain = new LlamaEngine(model, { maxSlots: 3, maxContext: 32, blockSize: 4 });
    const prompt = { seq: 0, ids: [1, 12, 13, 14, 15], start: 0 };
    const late = { seq: 1, ids: [1, 40, 41, 42, 43, 44, 45], start: 0 };
    await expect(engine.cutIn!([late])).rejects.toThrow(/no step is running/);
    await engine.step([prompt]);
    await plain.step([prompt]);
    const order: string[] = [];
    // The step records its layers and waits for the device before its output projection: the cut-in posted now has
    // its layers recorded behind the step's, and its row joins the projection.
    const step = engine.step([{ seq: 0, ids: [7], start: 5 }]).then((r) => {
      order.push('step');
      return r;
    });
    // The step's decode is committed (in the pool) when the cut-in's results come, with the step's.
    const cut = engine.cutIn!([late]).then((r) => {
      order.push(`cut at ${engine.blocks.length(0)}`);
      return r;
    });
    const [[decoded], [first]] = await Promise.all([step, cut]);
    expect(order).toEqual(['cut at 6', 'step']);
    const [wantDecoded] = await plain.step([{ seq: 0, ids: [7], start: 5 }]);
    const [wantFirst] = await plain.step([late]);
    expect(Array.from(decoded!.logits!)).toEqual(Array.from(wantDecoded!.logits!));
    expect(Array.from(first!.logits!)).toEqual(Array.from(wantFirst!.logits!));
    expect([engine.blocks.length(0), engine.blocks.length(1)]).toEqual([6, 7]);
    engine.dispose();
    plain.dispose();
  });

  it.each(['float16', 'bfloat16'] as const)(
    'a %s KV cache holds twice the blocks of a budget, logits near float32',
    async (kvDtype) => {
      const perBlock = PagedKvCache.bytesPerBlock(model.config);
      const half = new LlamaEngine(model, { maxSlots: 4, maxContext: 40, kvBudgetBytes: 7.5 * perBlock, kvDtype });
      expect([half.cache.dtype, half.blocks.numBlocks, half.cache.bytes]).toEqual([kvDtype, 15, 15 * (perBlock / 2)]);
      const full = new LlamaEngine(model, { maxSlots: 4, maxContext: 40 });
      // A prompt, then two decodes: the half cache's logits are the float32 cache's up to the rounding of its keys and
      // values (which is real: they differ).
      let worst = 0;
      for (const [ids, start] of [
        [[1, 7, 9, 30, 2, 11, 4], 0],
        [[5], 7],
        [[8], 8],
      ] as const) {
        const [a] = await half.step([{ seq: 0, ids: [...ids], start }]);
        const [b] = await full.step([{ seq: 0, ids: [...ids], start }]);
        const scale = Math.max(...Array.from(b!.logits!, Math.abs));
        for (let i = 0; i < b!.logits!.length; i++) {
          worst = Math.max(worst, Math.abs(a!.logits![i]! - b!.logits![i]!) / scale);
        }
      }
      expect(worst).toBeGreaterThan(0);
      expect(worst).toBeLessThan(kvDtype === 'float16' ? 2e-3 : 2e-2);
      half.dispose();
      full.dispose();
    },
  );

  it('a sequence reusing freed blocks computes what a fresh one does; a decode batch mixes with a prefill', async () => {
    const engine = new LlamaEngine(model, { maxSlots: 3, maxContext: 32, blockSize: 4 });
    const [fresh] = await engine.step([{ seq: 1, ids: [1, 7, 9], start: 0 }]);
    await engine.step([{ seq: 0, ids: [1, 30, 31, 32, 33, 34], start: 0 }]);
    await engine.step([{ seq: 0, ids: [5], start: 6 }]);
    engine.release(0);
    const [reused] = await engine.step([{ seq: 2, ids: [1, 7, 9], start: 0 }]);
    expect(Array.from(reused!.logits!)).toEqual(Array.from(fresh!.logits!));
    // Two equal sequences decoding the same token, beside a third sequence's prefill, give equal rows.
    const [a, b] = await engine.step([
      { seq: 1, ids: [4], start: 3 },
      { seq: 2, ids: [4], start: 3 },
      { seq: 5, ids: [1, 2, 3, 4, 5], start: 0 },
    ]);
    expect(Array.from(a!.logits!)).toEqual(Array.from(b!.logits!));
    for (const s of [1, 2, 5]) engine.release(s);
    expect(engine.blocks.usedBlocks).toBe(0);
    await expect(engine.step([{ seq: 7, ids: new Array(33).fill(1), start: 0 }])).rejects.toThrow(
      /sequence 7 would reach 33 positions, context is 32/,
    );
    engine.dispose();
  });

  it('returns per chunk only what it asks for: a token drawn on the device, logits, or nothing', async () => {
    const engine = new LlamaEngine(model, { maxSlots: 3, maxContext: 32, blockSize: 4 });
    const greedy = { temperature: 0, topK: 0, topP: 1, uniform: 0 };
    const prompt = [1, 7, 9, 23, 4];
    const [plain] = await engine.step([{ seq: 0, ids: prompt, start: 0 }]);
    // The same prompt sampled beside a skipped chunk and an all-logits chunk: the sampled row is gathered on the device.
    // A skipped chunk's rows skip the output projection; one that also samples keeps its row.
    const [drawn, skipped, all, drawnSkipped] = await engine
      .step([
        { seq: 2, ids: [1, 7, 9], start: 0, skipLogits: true },
        { seq: 1, ids: prompt, start: 0, sample: greedy, topLogprobs: 3 },
        { seq: 4, ids: [1, 30, 31], start: 0, allLogits: true },
        { seq: 5, ids: prompt, start: 0, sample: greedy, skipLogits: true },
      ])
      .then(([a, b, c, d]) => [b!, a!, c!, d!]);
    expect(drawnSkipped.token!.id).toBe(argmax(plain!.logits!));
    const ref = tokenLogprobs(plain!.logits!, argmax(plain!.logits!), 3);
    expect(drawn.logits).toBeUndefined();
    expect(drawn.token!.id).toBe(argmax(plain!.logits!));
    expect(drawn.token!.logprob).toBeCloseTo(ref.logprob, 5);
    expect(drawn.token!.top!.map((t) => t.id)).toEqual(ref.top.map((t) => t.id));
    expect(skipped).toEqual({});
    expect(all.token).toBeUndefined();
    expect(all.logits).toHaveLength(3 * 50);
    engine.dispose();
  });
});
