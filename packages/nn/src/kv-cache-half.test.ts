import { noGrad, tidy } from '@andes/tensor';
import { describeBackends } from '@andes/tensor/testing';
import { expect, it } from 'vitest';
import { maxAbsDiff, randomIds } from '../test/helpers.js';
import { type LlamaConfig, llamaConfig } from './config.js';
import { generateIds } from './generate.js';
import { KvCache } from './kv-cache.js';
import { LlamaForCausalLM } from './llama.js';
import { argmax } from './sampling.js';

const config: LlamaConfig = llamaConfig({
  vocab_size: 37,
  hidden_size: 48,
  intermediate_size: 80,
  num_hidden_layers: 2,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
});

/**
 * Bound on the largest |logit difference| between the float16 and float32 caches, relative to the largest |logit|
 * of the step. Measured over every step below on the CPU and on lavapipe (2026-12-04): 1.8e-4 (seed 5) and 2.1e-4
 * (seed 6). float16 keeps 11 significant bits (relative rounding ≤ 2⁻¹² per key/value element); the bound leaves ~5×.
 */
const RELATIVE_TOLERANCE = 1e-3;

function sharpModel(seed: number): LlamaForCausalLM {
  const model = new LlamaForCausalLM(config, { seed });
  // Larger weights make predictions depend strongly on the cached context (a weak test otherwise).
  noGrad(() => {
    for (const [, p] of model.namedParameters()) if (p.shape.length === 2) tidy(() => p.assign(p.mul(4)));
  });
  return model;
}

/** Logits `[V]` of each step: a prefill chunk, a second chunk read through the cache, then one-token decode steps. */
async function stepLogits(model: LlamaForCausalLM, cache: KvCache, ids: number[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const read = async (t: ReturnType<LlamaForCausalLM['prefill']>) => {
    out.push((await t.data()) as Float32Array);
    t.dispose();
  };
  await read(model.prefill(ids.slice(0, 5), { cache, slot: 1 }));
  await read(model.prefill(ids.slice(5, 9), { cache, slot: 1 })); // attention over cached (half) keys/values
  for (let i = 9; i < ids.length; i++) await read(model.forwardBatch([ids[i]!], { cache, slots: [1] }));
  return out;
}

describeBackends('KvCache with float16 keys and values', () => {
  it('gives the logits of a float32 cache within the stated tolerance, and the same greedy tokens', async () => {
    for (const seed of [5, 6]) {
      const model = sharpModel(seed);
      const ids = randomIds(1, 20, config.vocab_size, seed)[0]!;
      const f32 = new KvCache(config, { maxBatch: 2, maxSeq: 24 });
      const f16 = new KvCache(config, { maxBatch: 2, maxSeq: 24, dtype: 'float16' });
      expect(f16.keys[0]!.dtype).toBe('float16');
      expect(f16.bytes).toBe(f32.bytes / 2);
      expect(KvCache.bytesFor(config, { maxBatch: 2, maxSeq: 24, dtype: 'float16' })).toBe(f16.bytes);
      const want = await stepLogits(model, f32, ids);
      const got = await stepLogits(model, f16, ids);
      let worst = 0;
      for (let s = 0; s < want.length; s++) {
        const scale = Math.max(...Array.from(want[s]!, Math.abs));
        worst = Math.max(worst, maxAbsDiff(got[s]!, want[s]!) / scale);
        expect(argmax(got[s]!)).toBe(argmax(want[s]!));
      }
      expect(worst).toBeLessThan(RELATIVE_TOLERANCE);
      // The rounding is real: the caches differ somewhere (else this test could not fail).
      expect(worst).toBeGreaterThan(0);
      const prompt = ids.slice(0, 6);
      const greedy = { maxNewTokens: 12, temperature: 0, stop: [] };
      const tokens32 = await generateIds(model, prompt, greedy);
      const half = new KvCache(config, { maxBatch: 1, maxSeq: 18, dtype: 'float16' });
      const tokens16 = await generateIds(model, prompt, { ...greedy, cache: half });
      expect(tokens16).toEqual(tokens32);
      expect(new Set(tokens32).size).toBeGreaterThan(2);
      for (const c of [f32, f16, half]) c.dispose();
      model.dispose();
    }
  });
});
