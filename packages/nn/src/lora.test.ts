import { seededUniform, setBackend, tensor } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostWeights, idsTensor, maxAbsDiff, randomIds } from '../test/helpers.js';
import { type HostWeights, referenceLogits } from '../test/reference-llama.js';
import { type LlamaConfig, llamaConfig } from './config.js';
import { LlamaForCausalLM } from './llama.js';
import {
  applyLora,
  baseParameters,
  isLoraParameter,
  LORA_LLAMA_TARGETS,
  loraAdapters,
  mergeLora,
  trainableParameters,
  unmergeLora,
} from './lora.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const config: LlamaConfig = llamaConfig({
  vocab_size: 11,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rope_theta: 100,
});
const R = 3;
const ALPHA = 6;

/** Base weights with every adapter folded in, in float64: W + (alpha/r)·B·A. */
function mergedHost(weights: HostWeights): HostWeights {
  const out: HostWeights = new Map();
  for (const [name, w] of weights) {
    if (isLoraParameter(name)) continue;
    const a = weights.get(name.replace(/\.weight$/, '.lora_A.weight'));
    const b = weights.get(name.replace(/\.weight$/, '.lora_B.weight'));
    if (a === undefined || b === undefined) {
      out.set(name, Float64Array.from(w));
      continue;
    }
    const inDim = a.length / R;
    const outDim = b.length / R;
    const merged = Float64Array.from(w);
    for (let o = 0; o < outDim; o++)
      for (let i = 0; i < inDim; i++) {
        let s = 0;
        for (let k = 0; k < R; k++) s += (b[o * R + k] as number) * (a[k * inDim + i] as number);
        merged[o * inDim + i] = (merged[o * inDim + i] as number) + (ALPHA / R) * s;
      }
    out.set(name, merged);
  }
  return out;
}

function referenceLoss(weights: HostWeights, ids: number[][], targets: number[][]): number {
  const logits = referenceLogits(config, mergedHost(weights), ids);
  let total = 0;
  let count = 0;
  logits.forEach((seq, b) => {
    seq.forEach((row, t) => {
      const m = Math.max(...row);
      total += m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - (row[targets[b]?.[t] as number] as number);
      count++;
    });
  });
  return total / count;
}

/** A model with adapters on every projection and random (non-zero) B, so every adapter matters. */
function adaptedModel(seed: number): LlamaForCausalLM {
  const model = new LlamaForCausalLM(config, { seed });
  for (const [, p] of model.namedParameters()) {
    if (p.shape.length === 2) p.assign(p.mul(8));
  }
  applyLora(model, { r: R, alpha: ALPHA, targets: LORA_LLAMA_TARGETS, seed: seed + 1 });
  const rng = seededUniform(seed + 2);
  for (const adapter of loraAdapters(model).values()) {
    const b = adapter.loraB.weight;
    b.assign(
      tensor(
        Float32Array.from({ length: b.size }, () => rng() - 0.5),
        [...b.shape],
      ),
    );
  }
  return model;
}

describe('LoRA adapters on LlamaForCausalLM', () => {
  it('A and B gradients match float64 central differences of W + (alpha/r)·B·A; the base gets none', async () => {
    const model = adaptedModel(5);
    const ids = randomIds(2, 6, config.vocab_size, 3);
    const targets = randomIds(2, 6, config.vocab_size, 9);
    const loss = model.loss(idsTensor(ids), tensor(Int32Array.from(targets.flat()), [2, 6], { dtype: 'int32' }));
    loss.backward();
    const weights = await hostWeights(model);
    const base = new Map([...weights].map(([k, v]) => [k, Float64Array.from(v)]));
    expect(Math.abs((await loss.item()) - referenceLoss(base, ids, targets))).toBeLessThan(1e-4);
    const rng = seededUniform(31);
    const eps = 1e-5;
    let checked = 0;
    for (const [name, p] of model.namedParameters()) {
      if (!isLoraParameter(name)) {
        expect(p.requiresGrad, name).toBe(false);
        expect(p.grad, name).toBeNull();
        continue;
      }
      const grad = (await p.grad?.data()) as Float32Array;
      const w0 = base.get(name) as Float64Array;
      const dir = Float64Array.from(w0, () => rng() * 2 - 1);
      let analytic = 0;
      for (let i = 0; i < dir.length; i++) analytic += (grad[i] as number) * (dir[i] as number);
      const shifted = (sign: number) =>
        new Map([...base].map(([k, v]) => [k, k === name ? v.map((x, i) => x + sign * eps * (dir[i] as number)) : v]));
      const numeric = (referenceLoss(shifted(1), ids, targets) - referenceLoss(shifted(-1), ids, targets)) / (2 * eps);
      expect(Math.abs(analytic - numeric) / Math.max(Math.abs(numeric), 1e-3), name).toBeLessThan(2e-3);
      checked++;
    }
    expect(checked).toBe(2 * 2 * LORA_LLAMA_TARGETS.length);
    model.dispose();
  });

  it('merged logits equal base + adapter logits and the float64 merge; unmerge restores the base', async () => {
    const model = adaptedModel(7);
    const ids = randomIds(2, 5, config.vocab_size, 4);
    const before = (await model.forward(idsTensor(ids)).data()) as Float32Array;
    const original = await hostWeights(model);
    const reference = referenceLogits(config, mergedHost(original), ids).flatMap((seq) => seq.flatMap((r) => [...r]));
    expect(maxAbsDiff(before, reference)).toBeLessThan(1e-3);
    mergeLora(model);
    const merged = (await model.forward(idsTensor(ids)).data()) as Float32Array;
    expect(maxAbsDiff(merged, before)).toBeLessThan(1e-3);
    expect(maxAbsDiff(merged, reference)).toBeLessThan(1e-3);
    unmergeLora(model);
    const restored = await hostWeights(model);
    for (const [name, w] of original)
      expect(maxAbsDiff(restored.get(name) as Float32Array, w), name).toBeLessThan(1e-5);
    model.dispose();
  });

  it('a fresh adapter (B = 0, A kaiming-uniform within ±1/√in) leaves the logits unchanged', async () => {
    const plain = new LlamaForCausalLM(config, { seed: 2 });
    const adapted = new LlamaForCausalLM(config, { seed: 2 });
    const adapters = applyLora(adapted, { r: 4, alpha: 8, targets: ['q_proj', 'v_proj'], seed: 1 });
    expect([...adapters.keys()]).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ]);
    for (const adapter of adapters.values()) {
      const a = (await adapter.loraA.weight.data()) as Float32Array;
      const bound = 1 / Math.sqrt(config.hidden_size);
      expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(bound / 2);
      expect(new Set(a).size).toBe(a.length);
      expect([...((await adapter.loraB.weight.data()) as Float32Array)].every((v) => v === 0)).toBe(true);
    }
    // Each adapter's A comes from its own name-derived seed.
    const [first, second] = [...adapters.values()];
    expect(await first?.loraA.weight.data()).not.toEqual(await second?.loraA.weight.data());
    const ids = idsTensor(randomIds(1, 7, config.vocab_size, 8));
    expect(await adapted.forward(ids).data()).toEqual(await plain.forward(ids).data());
    plain.dispose();
    adapted.dispose();
  });

  it('training only the trainable parameters leaves every base weight bit-identical', async () => {
    const model = new LlamaForCausalLM(config, { seed: 3 });
    const before = await hostWeights(model);
    applyLora(model, { r: 2, alpha: 4, targets: ['q_proj', 'down_proj'], dropout: 0.1, seed: 4 });
    const trainable = trainableParameters(model);
    expect(trainable.every(([name]) => isLoraParameter(name))).toBe(true);
    const ids = idsTensor(randomIds(2, 6, config.vocab_size, 1));
    const targets = idsTensor(randomIds(2, 6, config.vocab_size, 2));
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      const loss = model.loss(ids, targets);
      loss.backward();
      losses.push(await loss.item());
      // Plain SGD on what an optimizer would be given (the trainable parameters only).
      for (const [, p] of trainable) {
        p.assign(p.sub((p.grad as NonNullable<typeof p.grad>).mul(0.5)));
        p.zeroGrad();
      }
    }
    expect(losses[3]).toBeLessThan(losses[0] as number);
    for (const [name, p] of baseParameters(model)) {
      expect(
        Buffer.from(((await p.data()) as Float32Array).buffer).equals(
          Buffer.from((before.get(name) as Float32Array).buffer),
        ),
        name,
      ).toBe(true);
    }
    model.dispose();
  });

  it('rejects a target that names no layer, and a second adapter on a layer', () => {
    const model = new LlamaForCausalLM(config, { seed: 1 });
    expect(() => applyLora(model, { r: 2, alpha: 4, targets: ['qproj'] })).toThrow(/target 'qproj' matches no Linear/);
    applyLora(model, { r: 2, alpha: 4, targets: ['q_proj'] });
    expect(() => applyLora(model, { r: 2, alpha: 4, targets: ['q_proj'] })).toThrow(/already has an adapter/);
    expect(() => applyLora(model, { r: 0, alpha: 4, targets: ['k_proj'] })).toThrow(/r must be a positive integer/);
    model.dispose();
  });
});
