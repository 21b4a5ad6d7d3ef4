import { KvCache, LlamaForCausalLM, llamaConfig } from '@andes/nn';
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

describe('LlamaEngine KV-cache sizing', () => {
  it('allocates max-batch slots × context positions, fewer when the memory budget is smaller', () => {
    // Per slot: 2 (k, v) × 4 bytes × 3 layers × 1 kv head × 40 positions × 8 head dims.
    const perSlot = 2 * 4 * 3 * 1 * 40 * 8;
    expect(KvCache.bytesFor(model.config, { maxBatch: 1, maxSeq: 40 })).toBe(perSlot);
    const full = new LlamaEngine(model, { maxSlots: 4, maxContext: 40 });
    expect([full.maxSlots, full.maxContext, full.cache.bytes]).toEqual([4, 40, 4 * perSlot]);
    full.dispose();
    const limited = new LlamaEngine(model, { maxSlots: 4, maxContext: 40, kvBudgetBytes: 2.5 * perSlot });
    expect(limited.maxSlots).toBe(2);
    limited.dispose();
    const capped = new LlamaEngine(model, { maxSlots: 2, maxContext: 1000 });
    expect(capped.maxContext).toBe(64); // never more than the model's positions
    capped.dispose();
    expect(() => new LlamaEngine(model, { maxSlots: 4, maxContext: 40, kvBudgetBytes: perSlot - 1 })).toThrow(
      /lower --context/,
    );
  });

  it('prefill from position 0 overwrites a reused slot: same logits as a fresh slot', async () => {
    const engine = new LlamaEngine(model, { maxSlots: 2, maxContext: 32 });
    const fresh = await engine.prefill(1, [1, 7, 9]);
    await engine.prefill(0, [1, 30, 31, 32, 33, 34]);
    await engine.decode([{ slot: 0, token: 5, position: 6 }]);
    engine.release(0);
    const reused = await engine.prefill(0, [1, 7, 9]);
    expect(Array.from(reused)).toEqual(Array.from(fresh));
    const a = await engine.decode([
      { slot: 0, token: 4, position: 3 },
      { slot: 1, token: 4, position: 3 },
    ]);
    expect(Array.from(a.subarray(0, 50))).toEqual(Array.from(a.subarray(50, 100)));
    engine.dispose();
  });
});
