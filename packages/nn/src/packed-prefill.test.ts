import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostWeights, maxAbsDiff, randomIds } from '../test/helpers.js';
import { referenceLogits } from '../test/reference-llama.js';
import { llamaConfig } from './config.js';
import { KvCache } from './kv-cache.js';
import { LlamaForCausalLM } from './llama.js';
import { prefillPacked } from './packed-prefill.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const config = llamaConfig({
  vocab_size: 41,
  hidden_size: 24,
  intermediate_size: 40,
  num_hidden_layers: 2,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  rope_theta: 500,
  tie_word_embeddings: false,
});

// Four sequences: [prefix already in the cache, chunk to prefill now]; one chunk asks for every position's logits.
const seqs = randomIds(4, 14, config.vocab_size, 5).map((ids, i) => ids.slice(0, [9, 1, 14, 3][i]));
const prefixLength = [4, 0, 5, 0];
const allLogits = [false, false, true, false];
const slots = [3, 0, 2, 5];

async function rows(t: { data(): Promise<ArrayLike<number>>; dispose(): void }): Promise<Float32Array> {
  const d = Float32Array.from(await t.data());
  t.dispose();
  return d;
}

describe('prefillPacked', () => {
  it('matches a float64 reference, equals one prefill per sequence bit for bit, and leaves the same cache', async () => {
    const model = new LlamaForCausalLM(config, { seed: 9 });
    const packedCache = new KvCache(config, { maxBatch: 6, maxSeq: 32 });
    const soloCache = new KvCache(config, { maxBatch: 6, maxSeq: 32 });
    for (let i = 0; i < 4; i++) {
      if (prefixLength[i]! === 0) continue;
      for (const cache of [packedCache, soloCache]) {
        await rows(model.prefill(seqs[i]!.slice(0, prefixLength[i]), { cache, slot: slots[i]! }));
      }
    }
    const items = seqs.map((ids, i) => ({
      ids: ids.slice(prefixLength[i]),
      slot: slots[i]!,
      allLogits: allLogits[i],
    }));
    const packed = await rows(prefillPacked(model, items, packedCache));
    const V = config.vocab_size;
    const want = referenceLogits(config, await hostWeights(model), seqs);
    let r = 0;
    for (let i = 0; i < 4; i++) {
      const solo = await rows(
        model.prefill(items[i]!.ids, { cache: soloCache, slot: slots[i]!, allLogits: allLogits[i] }),
      );
      const n = solo.length / V;
      expect(n).toBe(allLogits[i] ? items[i]!.ids.length : 1);
      const mine = packed.subarray(r * V, (r + n) * V);
      expect(Array.from(mine), `sequence ${i}`).toEqual(Array.from(solo));
      // Independent reference: a float64 forward of the whole sequence, no cache.
      const positions = allLogits[i] ? seqs[i]!.map((_, p) => p).slice(prefixLength[i]) : [seqs[i]!.length - 1];
      const ref = Float64Array.from(positions.flatMap((p) => [...want[i]![p]!]));
      const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxAbsDiff(mine, ref) / scale, `sequence ${i} vs float64`).toBeLessThan(2e-4);
      r += n;
    }
    expect(r * V).toBe(packed.length);
    expect(Array.from(packedCache.lengths)).toEqual(Array.from(soloCache.lengths));
    // The next decode step reads what the packed prefill stored: identical to the one-by-one cache.
    const next = seqs.map((s) => s[0]!);
    const a = await rows(model.forwardBatch(next, { cache: packedCache, slots }));
    const b = await rows(model.forwardBatch(next, { cache: soloCache, slots }));
    expect(Array.from(a)).toEqual(Array.from(b));
    packedCache.dispose();
    soloCache.dispose();
    model.dispose();
  });

  it('rejects repeated slots, empty chunks and chunks past the cache, naming them', () => {
    const model = new LlamaForCausalLM(config, { seed: 1 });
    const cache = new KvCache(config, { maxBatch: 2, maxSeq: 8 });
    expect(() =>
      prefillPacked(
        model,
        [
          { ids: [1, 2], slot: 1 },
          { ids: [3], slot: 1 },
        ],
        cache,
      ),
    ).toThrow(/slots \[1, 1\] repeat/);
    expect(() => prefillPacked(model, [{ ids: [], slot: 0 }], cache)).toThrow(/item 0 \(slot 0\) has no ids/);
    expect(() => prefillPacked(model, [{ ids: [1, 2, 3], slot: 0, start: 7 }], cache)).toThrow(/exceed maxSeq=8/);
    cache.dispose();
    model.dispose();
  });
});
