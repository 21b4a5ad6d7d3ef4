import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { type LlamaConfig, llamaConfig } from './config.js';
import { LlamaDecoderLayer } from './decoder-layer.js';
import { childInit, type ModuleInit, parameterSeed } from './init.js';
import { Linear } from './linear.js';
import { LlamaForCausalLM } from './llama.js';
import { Module } from './module.js';

beforeAll(async () => {
  await setBackend('cpu');
});

// Awkward on purpose: odd widths, grouped-query heads, a vocabulary that is no power of two.
const base = { vocab_size: 43, hidden_size: 20, intermediate_size: 36, max_position_embeddings: 16 };
const heads = { num_hidden_layers: 2, num_attention_heads: 5, num_key_value_heads: 1 };

async function weights(module: Module, prefix = ''): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of module.namedParameters(prefix)) out.set(name, (await p.data()) as Float32Array);
  module.dispose();
  return out;
}

async function modelWeights(config: LlamaConfig, seed: number): Promise<Map<string, Float32Array>> {
  return weights(new LlamaForCausalLM(config, { seed }));
}

/** Names present in both maps, after checking that every one has the same values in both. */
function expectSharedEqual(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  const shared = [...a.keys()].filter((name) => b.has(name));
  for (const name of shared) expect(b.get(name), name).toEqual(a.get(name));
  return shared;
}

describe('initialisation by name', () => {
  it('two models with the same seed are identical; another seed changes every matrix', async () => {
    const config = llamaConfig({ ...base, ...heads });
    const a = await modelWeights(config, 11);
    const b = await modelWeights(config, 11);
    expect(expectSharedEqual(a, b)).toHaveLength(a.size);
    const c = await modelWeights(config, 12);
    for (const [name, values] of a) {
      if (name.endsWith('layernorm.weight') || name === 'model.norm.weight') continue; // norms start at 1
      expect(c.get(name), name).not.toEqual(values);
    }
  });

  it('adding a layer, an lm_head or wider MLPs reseeds no other parameter', async () => {
    const two = await modelWeights(llamaConfig({ ...base, ...heads, tie_word_embeddings: true }), 5);
    const grown = await modelWeights(
      llamaConfig({ ...base, ...heads, num_hidden_layers: 3, tie_word_embeddings: false }),
      5,
    );
    expect([...grown.keys()].filter((n) => !two.has(n)).sort()).toEqual(
      [...grown.keys()].filter((n) => n.startsWith('model.layers.2.') || n === 'lm_head.weight').sort(),
    );
    // The residual projections' std is initializer_range / sqrt(2·layers) (GPT-2, llama2.c): a third layer rescales
    // their draws by sqrt(4/6), but the draws themselves are the same; every other parameter is bit-identical.
    const residual = (name: string) => name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight');
    for (const [name, values] of two) {
      const other = grown.get(name) as Float32Array;
      if (!residual(name)) {
        expect(other, name).toEqual(values);
        continue;
      }
      let worst = 0;
      for (let i = 0; i < values.length; i++) {
        const want = (values[i] as number) * Math.sqrt(4 / 6);
        worst = Math.max(worst, Math.abs((other[i] as number) - want) / (Math.abs(want) + 1e-12));
      }
      expect(worst, name).toBeLessThan(1e-6);
    }
    const wider = await modelWeights(
      llamaConfig({ ...base, ...heads, intermediate_size: 52, tie_word_embeddings: true }),
      5,
    );
    const same = [...two.keys()].filter((n) => !n.includes('.mlp.'));
    expect(same.length).toBeGreaterThan(8);
    for (const name of same) expect(wider.get(name), name).toEqual(two.get(name));
  });

  it('a block built on its own gets the values of the same block inside the model', async () => {
    const config = llamaConfig({ ...base, ...heads });
    const model = await modelWeights(config, 9);
    const alone = await weights(new LlamaDecoderLayer(config, 1, { seed: 9 }), 'model.layers.1');
    expect(alone.size).toBe(9);
    expect(expectSharedEqual(alone, model)).toHaveLength(alone.size);
    const renamed = await weights(new LlamaDecoderLayer(config, 1, { seed: 9, name: 'other' }), 'model.layers.1');
    expect(renamed.get('model.layers.1.mlp.up_proj.weight')).not.toEqual(
      alone.get('model.layers.1.mlp.up_proj.weight'),
    );
  });

  it('values depend on names, not on the order modules are built in', async () => {
    class Two extends Module {
      constructor(init: ModuleInit, order: readonly ['a', 'b'] | readonly ['b', 'a']) {
        super();
        for (const name of order) this.registerModule(name, new Linear(5, 3, childInit(init, name)));
      }
    }
    const ab = await weights(new Two({ seed: 3, name: 'x' }, ['a', 'b']));
    const ba = await weights(new Two({ seed: 3, name: 'x' }, ['b', 'a']));
    expect(expectSharedEqual(ab, ba)).toHaveLength(2);
    expect(ab.get('a.weight')).not.toEqual(ab.get('b.weight'));
  });

  it('parameterSeed spreads names and seeds over 32 bits', () => {
    const seen = new Set<number>();
    for (let layer = 0; layer < 200; layer++) {
      for (const p of ['q', 'k', 'v', 'o'])
        seen.add(parameterSeed(1, `model.layers.${layer}.self_attn.${p}_proj.weight`));
    }
    expect(seen.size).toBe(800);
    expect(parameterSeed(1, 'lm_head.weight')).not.toBe(parameterSeed(2, 'lm_head.weight'));
    for (const s of seen) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  });
});
