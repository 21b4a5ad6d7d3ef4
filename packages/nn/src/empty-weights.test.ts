import {
  BlockWeight,
  getBackend,
  memory,
  SeededRandom,
  setBackend,
  setCpuMatmulKernels,
  type Tensor,
} from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostWeights, idsTensor, logitsOf, maxAbsDiff, randomIds, smallConfig } from '../test/helpers.js';
import type { LlamaConfig } from './config.js';
import { countParameters } from './count-parameters.js';
import { LlamaForCausalLM } from './llama.js';
import type { StateDictEntry } from './module.js';

beforeAll(async () => {
  await setBackend('cpu');
});

// Odd sizes (37 tokens, 2 kv heads of 6) except where blocks need whole 32-element rows; larger initial weights.
const small = (over: Partial<LlamaConfig> = {}): LlamaConfig => smallConfig({ initializer_range: 0.2, ...over });

/** The model's parameters as host entries (what a file loader returns). */
async function hostEntries(model: LlamaForCausalLM): Promise<Map<string, StateDictEntry>> {
  const out = new Map<string, StateDictEntry>();
  for (const [name, data] of await hostWeights(model)) {
    out.set(name, { shape: [...(model.stateDict().get(name) as Tensor).shape], data: Float32Array.from(data) });
  }
  return out;
}

describe('LlamaForCausalLM built empty (no weights allocated)', () => {
  // First in the file: memory().peakBytes has seen nothing bigger yet, so a float32 copy of the weights would show.
  it('fromWeights takes Q8_0 linear and embedding blocks (tied head from the table) without float32 copies', async () => {
    // Rows of 32 for blocks; vocab 45 and 2 kv heads of 8 stay odd.
    const config = small({
      vocab_size: 45,
      hidden_size: 64,
      intermediate_size: 96,
      num_attention_heads: 8,
      num_key_value_heads: 2,
      tie_word_embeddings: true,
    });
    // Random host weights of the model's shapes, read from an empty model (no float32 model is ever built here).
    const shapes = new LlamaForCausalLM(config, { empty: true });
    const rng = new SeededRandom(5);
    const tensors = new Map<string, StateDictEntry>();
    for (const [name, shape] of [
      ...shapes.namedUnloadedParameters(),
      ...shapes.namedParameters().map(([n, p]): [string, readonly number[]] => [n, p.shape]),
    ]) {
      const size = shape.reduce((a, b) => a * b, 1);
      const scale = shape.length === 1 ? 0.5 : 0.2;
      tensors.set(name, {
        shape,
        data: Float32Array.from({ length: size }, () => (shape.length === 1 ? 1 : 0) + scale * (2 * rng.next() - 1)),
      });
    }
    shapes.dispose();
    const blockWeights = new Map<string, BlockWeight>();
    let linearBytes = 0;
    for (const [name, entry] of [...tensors]) {
      if (entry.shape.length !== 2) continue;
      const block = BlockWeight.quantize('Q8_0', entry.shape as [number, number], entry.data as Float32Array);
      blockWeights.set(name, block);
      linearBytes += (entry.data as Float32Array).byteLength;
      // The reference computes in float32 with exactly the decoded values.
      tensors.set(name, { shape: entry.shape, data: await block.dequantize() });
    }
    const norms = new Map([...tensors].filter(([name]) => !blockWeights.has(name)));
    const normBytes = [...norms.values()].reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1) * 4, 0);
    const device = getBackend().memory().bytesInUse;
    const tensorBytes = memory().bytes;
    expect(memory().peakBytes).toBeLessThan(tensorBytes + 0.1 * linearBytes);
    const model = LlamaForCausalLM.fromWeights(config, { tensors: norms, blockWeights });
    // Only the norms became float32 tensors, and no float32 matrix existed even for a moment.
    expect(memory().bytes - tensorBytes).toBe(normBytes);
    expect(memory().peakBytes).toBeLessThan(tensorBytes + normBytes + 0.1 * linearBytes);
    expect(getBackend().memory().bytesInUse - device).toBe(normBytes);
    expect(model.model.embedTokens.blockWeight?.type).toBe('Q8_0');
    const reference = new LlamaForCausalLM(config, { seed: 0 });
    reference.loadStateDict(tensors);
    const ids = randomIds(1, 7, config.vocab_size, 8);
    const want = await logitsOf(reference, ids);
    // The float64 JS kernels: the SIMD block kernels round activations to int8 per block as llama.cpp does, which
    // block-matmul-wasm.test.ts bounds; here only the loading is under test.
    const previous = setCpuMatmulKernels('js');
    const got = await logitsOf(model, ids).finally(() => setCpuMatmulKernels(previous));
    const scale = Math.max(...Array.from(want, Math.abs));
    expect(scale).toBeGreaterThan(0.1);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5 * scale);
    for (const m of [reference, model]) m.dispose();
  });

  it('allocates only the norm weights and lists the rest as unloaded, with full-model shapes', () => {
    const config = small();
    const before = memory().bytes;
    const model = new LlamaForCausalLM(config, { empty: true });
    const d = config.hidden_size;
    const normBytes = (2 * config.num_hidden_layers + 1) * d * 4;
    expect(memory().bytes - before).toBe(normBytes);
    const full = new LlamaForCausalLM(config, { seed: 1 });
    const fullShapes = new Map(full.namedParameters().map(([n, p]) => [n, [...p.shape]]));
    const unloaded = model.namedUnloadedParameters();
    expect(unloaded.map(([n]) => n).sort()).toEqual(
      [...fullShapes.keys()].filter((n) => !n.endsWith('norm.weight')).sort(),
    );
    for (const [name, shape] of unloaded) expect([...shape]).toEqual(fullShapes.get(name));
    expect(model.numParameters()).toBe(countParameters(config).total);
    expect(model.parameters().every((p) => p.shape.length === 1)).toBe(true);
    full.dispose();
    model.dispose();
    expect(memory().bytes).toBe(before);
  });

  it('names an unloaded weight used before loading', () => {
    const model = new LlamaForCausalLM(small(), { empty: true });
    const ids = idsTensor([[1, 2, 3]]);
    expect(() => model.forward(ids)).toThrow(/model\.embed_tokens\.weight \[37, 24\] is not loaded/);
    expect(() => model.lmHead?.weight).toThrow(/lm_head\.weight \[37, 24\] is not loaded/);
    expect(() => model.model.layers.at(1).mlp.downProj.weight).toThrow(
      /model\.layers\.1\.mlp\.down_proj\.weight \[24, 40\] is not loaded/,
    );
    ids.dispose();
    model.dispose();
  });

  it('fromWeights uploads every tensor, empties the map as it goes, and gives the logits of loadStateDict', async () => {
    const config = small();
    const source = new LlamaForCausalLM(config, { seed: 3 });
    const entries = await hostEntries(source);
    const existing = new LlamaForCausalLM(config, { seed: 9 }); // the existing path: a seeded model, then load
    existing.loadStateDict(entries);
    const model = LlamaForCausalLM.fromWeights(config, { tensors: entries });
    expect(entries.size).toBe(0);
    expect(model.training).toBe(false);
    expect(model.namedUnloadedParameters()).toEqual([]);
    // Loading fills each slot in place: the parameter order is the seeded model's.
    expect(model.namedParameters().map(([n]) => n)).toEqual(existing.namedParameters().map(([n]) => n));
    const ids = randomIds(2, 5, config.vocab_size, 4);
    const want = await logitsOf(existing, ids);
    expect(await logitsOf(model, ids)).toEqual(want);
    expect(maxAbsDiff(await logitsOf(source, ids), want)).toBe(0);
    for (const m of [source, existing, model]) m.dispose();
  });

  it('fromWeights names a missing weight and frees what it built', async () => {
    const config = small();
    const source = new LlamaForCausalLM(config, { seed: 3 });
    const entries = await hostEntries(source);
    source.dispose();
    entries.delete('model.layers.1.mlp.up_proj.weight');
    const before = memory().bytes;
    expect(() => LlamaForCausalLM.fromWeights(config, { tensors: entries })).toThrow(
      /missing keys \[model\.layers\.1\.mlp\.up_proj\.weight\]/,
    );
    expect(memory().bytes).toBe(before);
  });
});
