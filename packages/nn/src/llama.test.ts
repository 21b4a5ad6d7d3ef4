import { memory, noGrad, setBackend, tensor, tidy } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostWeights, idsTensor, maxAbsDiff, randomIds, smallConfig } from '../test/helpers.js';
import { referenceLogits } from '../test/reference-llama.js';
import type { LlamaConfig } from './config.js';
import { countParameters } from './count-parameters.js';
import { LlamaForCausalLM } from './llama.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('LlamaForCausalLM structure', () => {
  it("names parameters exactly as Hugging Face's LlamaForCausalLM", () => {
    const model = new LlamaForCausalLM(smallConfig({ num_hidden_layers: 1 }));
    const names = model.namedParameters().map(([n, p]) => `${n} [${p.shape.join(',')}]`);
    expect(names).toEqual([
      'model.embed_tokens.weight [37,24]',
      'model.layers.0.self_attn.q_proj.weight [24,24]',
      'model.layers.0.self_attn.k_proj.weight [8,24]',
      'model.layers.0.self_attn.v_proj.weight [8,24]',
      'model.layers.0.self_attn.o_proj.weight [24,24]',
      'model.layers.0.mlp.gate_proj.weight [40,24]',
      'model.layers.0.mlp.up_proj.weight [40,24]',
      'model.layers.0.mlp.down_proj.weight [24,40]',
      'model.layers.0.input_layernorm.weight [24]',
      'model.layers.0.post_attention_layernorm.weight [24]',
      'model.norm.weight [24]',
      'lm_head.weight [37,24]',
    ]);
    expect(model.parameters().every((p) => p.requiresGrad)).toBe(true);
    model.dispose();
  });

  it('has no lm_head when embeddings are tied, and numParameters equals countParameters', () => {
    for (const tie of [true, false]) {
      const config = smallConfig({ tie_word_embeddings: tie, num_hidden_layers: 3 });
      const model = new LlamaForCausalLM(config);
      expect(model.stateDict().has('lm_head.weight')).toBe(!tie);
      expect(model.numParameters()).toBe(countParameters(config).total);
      model.dispose();
    }
  });

  it('train()/eval() set the mode on every submodule', () => {
    const model = new LlamaForCausalLM(smallConfig());
    model.eval();
    expect(model.namedModules().every(([, m]) => !m.training)).toBe(true);
    model.train();
    expect(model.namedModules().every(([, m]) => m.training)).toBe(true);
    model.dispose();
  });

  it('dispose() frees every parameter', () => {
    const before = memory().tensors;
    const model = new LlamaForCausalLM(smallConfig());
    expect(memory().tensors).toBeGreaterThan(before);
    model.dispose();
    expect(memory().tensors).toBe(before);
  });
});

describe('initialisation', () => {
  it('is seeded, normal(0, 0.02), with residual projections scaled by 1/sqrt(2·layers)', async () => {
    const config = smallConfig({
      hidden_size: 96,
      num_attention_heads: 6,
      num_key_value_heads: 6,
      intermediate_size: 256,
      num_hidden_layers: 8,
    });
    const a = new LlamaForCausalLM(config, { seed: 7 });
    const b = new LlamaForCausalLM(config, { seed: 7 });
    const c = new LlamaForCausalLM(config, { seed: 8 });
    const std = async (name: string, m = a) => {
      const data = (await m.stateDict().get(name)?.data()) as Float32Array;
      let s = 0;
      let s2 = 0;
      for (const v of data) {
        s += v;
        s2 += v * v;
      }
      return { mean: s / data.length, std: Math.sqrt(s2 / data.length - (s / data.length) ** 2) };
    };
    const q = await std('model.layers.0.self_attn.q_proj.weight');
    expect(q.std).toBeGreaterThan(0.018);
    expect(q.std).toBeLessThan(0.022);
    expect(Math.abs(q.mean)).toBeLessThan(0.002);
    const o = await std('model.layers.3.self_attn.o_proj.weight');
    const down = await std('model.layers.5.mlp.down_proj.weight');
    for (const r of [o, down]) {
      expect(r.std / (0.02 / Math.sqrt(16))).toBeGreaterThan(0.9);
      expect(r.std / (0.02 / Math.sqrt(16))).toBeLessThan(1.1);
    }
    const norm = (await a.stateDict().get('model.layers.1.input_layernorm.weight')?.data()) as Float32Array;
    expect([...norm].every((v) => v === 1)).toBe(true);
    const wa = await hostWeights(a);
    const wb = await hostWeights(b);
    const wc = await hostWeights(c);
    for (const [name, values] of wa) expect(maxAbsDiff(values, wb.get(name) as Float32Array)).toBe(0);
    expect(
      maxAbsDiff(wa.get('lm_head.weight') as Float32Array, wc.get('lm_head.weight') as Float32Array),
    ).toBeGreaterThan(0.01);
    // Different parameters of one model are not copies of each other.
    expect(
      maxAbsDiff(
        wa.get('model.layers.0.mlp.gate_proj.weight') as Float32Array,
        wa.get('model.layers.0.mlp.up_proj.weight') as Float32Array,
      ),
    ).toBeGreaterThan(0.01);
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('forward vs an independent float64 reference', () => {
  const cases: Array<[string, Partial<LlamaConfig>]> = [
    ['GQA, half rope, untied', {}],
    ['MHA, interleaved rope, tied', { num_key_value_heads: 6, rope_style: 'interleaved', tie_word_embeddings: true }],
    ['MQA (one kv head)', { num_key_value_heads: 1 }],
  ];
  for (const [label, over] of cases) {
    it(`matches the reference logits: ${label}`, async () => {
      const config = smallConfig(over);
      const model = new LlamaForCausalLM(config, { seed: 3 });
      // Larger weights than the init so attention is far from uniform and errors would show.
      noGrad(() => {
        for (const [, p] of model.namedParameters()) if (p.shape.length === 2) tidy(() => p.assign(p.mul(8)));
      });
      const ids = randomIds(2, 11, config.vocab_size, 5);
      const logits = noGrad(() => model.forward(idsTensor(ids)));
      expect(logits.shape).toEqual([2, 11, config.vocab_size]);
      const got = (await logits.data()) as Float32Array;
      const want = referenceLogits(config, await hostWeights(model), ids);
      const flat = Float64Array.from(want.flatMap((seq) => seq.flatMap((row) => [...row])));
      let scale = 0;
      for (const v of flat) scale = Math.max(scale, Math.abs(v));
      expect(maxAbsDiff(got, flat) / scale).toBeLessThan(2e-4);
      // lastOnly gives the last row of each sequence.
      const last = (await noGrad(() => model.forward(idsTensor(ids), { lastOnly: true })).data()) as Float32Array;
      const wantLast = Float64Array.from(want.flatMap((seq) => [...(seq[10] as Float64Array)]));
      expect(maxAbsDiff(last, wantLast) / scale).toBeLessThan(2e-4);
      model.dispose();
    });
  }

  it('loss is the mean next-token cross-entropy of the reference logits, skipping ignored targets', async () => {
    const config = smallConfig();
    const model = new LlamaForCausalLM(config, { seed: 4 });
    const ids = randomIds(2, 9, config.vocab_size, 11);
    const targets = ids.map((seq, b) =>
      seq.map((_, t) => (t === 3 && b === 1 ? -100 : ((seq[t + 1] ?? seq[0]) as number))),
    );
    const loss = await noGrad(() =>
      model.loss(idsTensor(ids), tensor(Int32Array.from(targets.flat()), [2, 9], { dtype: 'int32' })),
    ).item();
    const ref = referenceLogits(config, await hostWeights(model), ids);
    let total = 0;
    let count = 0;
    ref.forEach((seq, b) => {
      seq.forEach((row, t) => {
        const target = targets[b]?.[t] as number;
        if (target === -100) return;
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
        total += lse - (row[target] as number);
        count++;
      });
    });
    expect(count).toBe(17);
    expect(loss).toBeCloseTo(total / count, 4);
    model.dispose();
  });
});

describe('stateDict / loadStateDict', () => {
  it('round-trips through host arrays into a differently seeded model', async () => {
    const config = smallConfig();
    const a = new LlamaForCausalLM(config, { seed: 1 });
    const b = new LlamaForCausalLM(config, { seed: 2 });
    const host = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, p] of a.stateDict())
      host.set(name, { shape: [...p.shape], data: (await p.data()) as Float32Array });
    const result = b.loadStateDict(host);
    expect(result).toEqual({ missing: [], unexpected: [] });
    const ids = idsTensor(randomIds(1, 6, config.vocab_size, 3));
    const la = (await noGrad(() => a.forward(ids)).data()) as Float32Array;
    const lb = (await noGrad(() => b.forward(ids)).data()) as Float32Array;
    expect(maxAbsDiff(la, lb)).toBe(0);
    // Tensor entries work too, and keep the parameter objects (optimizers hold them).
    const before = b.parameters();
    b.loadStateDict(a.stateDict());
    expect(b.parameters()).toEqual(before);
    a.dispose();
    b.dispose();
  });

  it('names the parameter and both shapes on a mismatch, and leaves the model untouched', async () => {
    const model = new LlamaForCausalLM(smallConfig());
    const entries = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, p] of model.stateDict())
      entries.set(name, { shape: [...p.shape], data: new Float32Array(p.size) });
    entries.set('model.layers.1.self_attn.k_proj.weight', { shape: [24, 24], data: new Float32Array(576) });
    expect(() => model.loadStateDict(entries)).toThrow(
      "loadStateDict: 'model.layers.1.self_attn.k_proj.weight' has shape [8, 24] in the model but [24, 24] in the state dict",
    );
    const norm = (await model.stateDict().get('model.norm.weight')?.data()) as Float32Array;
    expect(norm[0]).toBe(1);
    model.dispose();
  });

  it('strict mode lists missing and unexpected keys; non-strict loads the rest and reports them', () => {
    const model = new LlamaForCausalLM(smallConfig({ tie_word_embeddings: true }));
    const partial = new Map([
      ['model.norm.weight', { shape: [24], data: new Float32Array(24).fill(2) }],
      ['model.extra.weight', { shape: [1], data: new Float32Array(1) }],
      // Ignored: HF checkpoints may carry these.
      ['model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [2], data: new Float32Array(2) }],
      ['lm_head.weight', { shape: [37, 24], data: new Float32Array(37 * 24) }],
    ]);
    expect(() => model.loadStateDict(partial)).toThrow(
      /missing keys \[model\.embed_tokens\.weight, .*unexpected keys \[model\.extra\.weight\]/,
    );
    const result = model.loadStateDict(partial, { strict: false });
    expect(result.unexpected).toEqual(['model.extra.weight']);
    expect(result.missing).toHaveLength(model.namedParameters().length - 1);
    model.dispose();
  });
});
