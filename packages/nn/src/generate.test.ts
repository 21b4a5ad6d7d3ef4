import { memory, noGrad, setBackend, tidy } from '@andes/tensor';
import { describeWebGpu } from '@andes/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { idsTensor, maxAbsDiff, randomIds } from '../test/helpers.js';
import { type LlamaConfig, llamaConfig } from './config.js';
import { generate, generateIds } from './generate.js';
import { KvCache } from './kv-cache.js';
import { LlamaForCausalLM } from './llama.js';
import { argmax, Sampler } from './sampling.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const config: LlamaConfig = llamaConfig({
  vocab_size: 29,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
});

function sharpModel(seed: number): LlamaForCausalLM {
  const model = new LlamaForCausalLM(config, { seed });
  // Scale weights up so the model's predictions depend strongly on context (a weak test otherwise).
  noGrad(() => {
    for (const [, p] of model.namedParameters()) if (p.shape.length === 2) tidy(() => p.assign(p.mul(6)));
  });
  return model;
}

/** Logits of every position of one sequence by full recomputation, [T][V]. */
async function fullLogits(model: LlamaForCausalLM, ids: number[]): Promise<Float32Array[]> {
  const logits = noGrad(() => model.forward(idsTensor([ids])));
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  return ids.map((_, t) => data.subarray(t * config.vocab_size, (t + 1) * config.vocab_size));
}

describe('KvCache + prefill + forwardBatch', () => {
  it('prefill in chunks gives the logits of full recomputation', async () => {
    const model = sharpModel(1);
    const ids = randomIds(1, 13, config.vocab_size, 2)[0] as number[];
    const want = await fullLogits(model, ids);
    const cache = new KvCache(config, { maxBatch: 3, maxSeq: 20 });
    const all = model.prefill(ids.slice(0, 5), { cache, slot: 2, allLogits: true });
    expect(all.shape).toEqual([5, config.vocab_size]);
    const allData = (await all.data()) as Float32Array;
    for (let t = 0; t < 5; t++) {
      expect(maxAbsDiff(allData.subarray(t * 29, (t + 1) * 29), want[t] as Float32Array)).toBeLessThan(1e-4);
    }
    expect(cache.lengths[2]).toBe(5);
    // Continue the same slot from position 5 (start defaults to the slot's length).
    const last = model.prefill(ids.slice(5), { cache, slot: 2 });
    expect(last.shape).toEqual([1, config.vocab_size]);
    expect(maxAbsDiff((await last.data()) as Float32Array, want[12] as Float32Array)).toBeLessThan(1e-4);
    expect(cache.lengths[2]).toBe(13);
    all.dispose();
    last.dispose();
    cache.dispose();
    model.dispose();
  });

  it('forwardBatch decodes slots of different lengths at once, matching each sequence recomputed alone', async () => {
    const model = sharpModel(2);
    const cache = new KvCache(config, { maxBatch: 4, maxSeq: 24 });
    const seqs = [
      randomIds(1, 9, 29, 10)[0] as number[],
      randomIds(1, 3, 29, 11)[0] as number[],
      randomIds(1, 14, 29, 12)[0] as number[],
    ];
    // Non-consecutive slots, and slot 1 first filled with a longer, unrelated sequence whose stale
    // keys/values must be masked after release.
    const slots = [3, 0, 1];
    model.prefill(randomIds(1, 20, 29, 99)[0] as number[], { cache, slot: 1 }).dispose();
    cache.release(1);
    seqs.forEach((s, i) => {
      model.prefill(s.slice(0, -1), { cache, slot: slots[i] as number }).dispose();
    });
    const before = memory().tensors;
    const logits = model.forwardBatch(
      seqs.map((s) => s[s.length - 1] as number),
      { cache, slots },
    );
    expect(memory().tensors).toBe(before + 1); // only the result survives
    expect(logits.shape).toEqual([3, 29]);
    const data = (await logits.data()) as Float32Array;
    for (let i = 0; i < 3; i++) {
      const seq = seqs[i] as number[];
      const want = (await fullLogits(model, seq))[seq.length - 1] as Float32Array;
      expect(maxAbsDiff(data.subarray(i * 29, (i + 1) * 29), want)).toBeLessThan(1e-4);
      expect(cache.lengths[slots[i] as number]).toBe(seq.length);
    }
    // Consecutive slots (0 and 1, holding seqs[1] and seqs[2]) take the zero-copy view path: same answers.
    const next = [5, 6];
    const consecutiveLogits = model.forwardBatch(next, { cache, slots: [0, 1] });
    const consecutive = (await consecutiveLogits.data()) as Float32Array;
    consecutiveLogits.dispose();
    for (const [i, seq] of [seqs[1], seqs[2]].entries()) {
      const full = [...(seq as number[]), next[i] as number];
      const want = (await fullLogits(model, full))[full.length - 1] as Float32Array;
      expect(maxAbsDiff(consecutive.subarray(i * 29, (i + 1) * 29), want)).toBeLessThan(1e-4);
    }
    expect(() => model.forwardBatch([1, 2], { cache, slots: [0, 0] })).toThrow(/repeat/);
    expect(() => model.forwardBatch([1], { cache, slots: [0], positions: [24] })).toThrow(/exceed maxSeq=24/);
    logits.dispose();
    cache.dispose();
    model.dispose();
  });
});

describe('generate', () => {
  it('greedy decoding with the cache yields exactly the tokens of full recomputation', async () => {
    const model = sharpModel(3);
    const prompt = [1, 7, 3, 22, 5];
    const cached = await generateIds(model, prompt, { maxNewTokens: 20, temperature: 0, stop: [] });
    const ids = [...prompt];
    const recomputed: number[] = [];
    for (let i = 0; i < 20; i++) {
      const rows = await fullLogits(model, ids);
      const next = argmax(rows[rows.length - 1] as Float32Array);
      recomputed.push(next);
      ids.push(next);
    }
    expect(cached).toEqual(recomputed);
    // A model this sharp does not emit one token forever: the check covers varied contexts.
    expect(new Set(cached).size).toBeGreaterThan(2);
    model.dispose();
  });

  it('sampling is reproducible per seed, streams, stops on stop ids and leaks nothing', async () => {
    const model = sharpModel(4);
    const before = memory().tensors;
    const opts = { maxNewTokens: 12, temperature: 1.5, topK: 10, topP: 0.95, stop: [] };
    const a = await generateIds(model, [1, 2], { ...opts, seed: 5 });
    const b = await generateIds(model, [1, 2], { ...opts, seed: 5 });
    const c = await generateIds(model, [1, 2], { ...opts, seed: 6 });
    expect(a).toEqual(b);
    expect(a).toHaveLength(12);
    expect(a).not.toEqual(c);
    const firstStop = a[4] as number;
    const stopped = await generateIds(model, [1, 2], { ...opts, seed: 5, stop: [firstStop] });
    expect(stopped).toEqual(a.slice(0, a.indexOf(firstStop)));
    const streamed: number[] = [];
    for await (const id of generate(model, [1, 2], { ...opts, seed: 5, stop: (_t, all) => all.length === 3 })) {
      streamed.push(id);
    }
    expect(streamed).toEqual(a.slice(0, 3));
    expect(memory().tensors).toBe(before);
    model.dispose();
  });

  it('draws through the one Sampler: penalties and bias apply, as in a loop over fully recomputed logits', async () => {
    const model = sharpModel(6);
    const opts = {
      maxNewTokens: 10,
      temperature: 0.9,
      topK: 12,
      topP: 0.97,
      frequencyPenalty: 0.8,
      presencePenalty: 0.3,
      logitBias: new Map([[4, 1.5]]),
      seed: 2 ** 33 + 5,
      stop: [],
    };
    const cached = await generateIds(model, [1, 9, 2], opts);
    const sampler = new Sampler(opts);
    const ids = [1, 9, 2];
    const reference: number[] = [];
    for (let i = 0; i < opts.maxNewTokens; i++) {
      const rows = await fullLogits(model, ids);
      const next = sampler.sample(rows[rows.length - 1] as Float32Array);
      sampler.observe(next);
      reference.push(next);
      ids.push(next);
    }
    expect(cached).toEqual(reference);
    // Greedy with a penalty leaves the device argmax path: a strong frequency penalty forbids any repeat.
    const unrepeated = await generateIds(model, [1, 2], {
      maxNewTokens: 8,
      temperature: 0,
      frequencyPenalty: 50,
      stop: [],
    });
    expect(new Set(unrepeated).size).toBe(8);
    // And a large bias makes greedy decoding emit only that token.
    const biased = await generateIds(model, [1], {
      maxNewTokens: 4,
      temperature: 0,
      logitBias: new Map([[5, 100]]),
      stop: [],
    });
    expect(biased).toEqual([5, 5, 5, 5]);
    await expect(generateIds(model, [1], { maxNewTokens: 2, topP: 1.5 })).rejects.toThrow(/Sampler: topP must lie in/);
    model.dispose();
  });
});

describeWebGpu('generate', () => {
  it('prefill and batched decode on WebGPU give the CPU logits', async () => {
    const cpu = sharpModel(5);
    const host = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, p] of cpu.stateDict())
      host.set(name, { shape: [...p.shape], data: (await p.data()) as Float32Array });
    const seqs = [randomIds(1, 6, 29, 1)[0] as number[], randomIds(1, 11, 29, 2)[0] as number[]];
    const run = async (model: LlamaForCausalLM): Promise<Float32Array[]> => {
      const cache = new KvCache(config, { maxBatch: 3, maxSeq: 16 });
      const out: Float32Array[] = [];
      for (const [i, seq] of seqs.entries()) {
        const logits = model.prefill(seq, { cache, slot: 2 - i, allLogits: true });
        out.push((await logits.data()) as Float32Array);
        logits.dispose();
      }
      const step = model.forwardBatch([3, 4], { cache, slots: [2, 1] });
      out.push((await step.data()) as Float32Array);
      step.dispose();
      const greedy = await generateIds(model, [1, 2, 3], { maxNewTokens: 8, temperature: 0, stop: [] });
      out.push(Float32Array.from(greedy));
      cache.dispose();
      return out;
    };
    const want = await run(cpu);
    cpu.dispose();
    await setBackend('webgpu');
    try {
      const gpu = new LlamaForCausalLM(config);
      gpu.loadStateDict(host);
      const got = await run(gpu);
      gpu.dispose();
      for (let i = 0; i < 3; i++)
        expect(maxAbsDiff(got[i] as Float32Array, want[i] as Float32Array)).toBeLessThan(1e-3);
      expect([...(got[3] as Float32Array)]).toEqual([...(want[3] as Float32Array)]);
    } finally {
      await setBackend('cpu');
    }
  });
});
