import { getBackend, zeroGrad } from '@andes/tensor';
import { describeBackends } from '@andes/tensor/testing';
import { expect, it, vi } from 'vitest';
import { idsTensor, randomIds, relativeDiff } from '../test/helpers.js';
import { llamaConfig } from './config.js';
import { KvCache } from './kv-cache.js';
import { LlamaForCausalLM } from './llama.js';

// The decoder layer's grouped products (q/k/v and gate/up through linearMany, down_proj + residual through
// linearResidual) against the unfused path: the same model with the backend's grouped kernels hidden, where the ops
// compose linear and add. Logits and every parameter's gradient must agree to float32 rounding.
const config = llamaConfig({
  vocab_size: 37,
  hidden_size: 24,
  intermediate_size: 44,
  num_hidden_layers: 2,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  tie_word_embeddings: false,
});
const GROUPED = ['linearParts', 'linearPartsInputGrad', 'linearPartsWeightGrad'];

/** Runs `fn` with the current backend's grouped linear kernels hidden (restored after). */
async function unfused<R>(fn: () => Promise<R>): Promise<R> {
  const backend = getBackend() as unknown as Record<string, unknown>;
  const own = GROUPED.map((name) => Object.getOwnPropertyDescriptor(backend, name));
  for (const name of GROUPED) backend[name] = undefined;
  try {
    return await fn();
  } finally {
    GROUPED.forEach((name, i) => {
      const d = own[i];
      if (d) Object.defineProperty(backend, name, d);
      else delete backend[name];
    });
  }
}

/** Logits, and each parameter's gradient of the loss, by name. */
async function trainingPass(model: LlamaForCausalLM, ids: number[][]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  const x = idsTensor(ids);
  const logits = model.forward(x);
  out.set('logits', Float32Array.from(await logits.data()));
  logits.dispose();
  const loss = model.loss(x, x);
  loss.backward();
  for (const [name, p] of model.namedParameters()) out.set(name, Float32Array.from(await p.grad!.data()));
  loss.dispose();
  x.dispose();
  zeroGrad(model.parameters());
  return out;
}

/** Logits of a prefill of `prompt` then `steps` batched decode steps of two sequences. */
async function decodePass(model: LlamaForCausalLM, prompts: number[][], steps: number): Promise<number[]> {
  const cache = new KvCache(config, { maxBatch: 2, maxSeq: 32 });
  const out: number[] = [];
  for (const [slot, prompt] of prompts.entries()) {
    const l = model.prefill(prompt, { cache, slot });
    out.push(...(await l.data()));
    l.dispose();
  }
  for (let s = 0; s < steps; s++) {
    const l = model.forwardBatch([(3 * s + 1) % 37, (5 * s + 2) % 37], { cache, slots: [0, 1] });
    out.push(...(await l.data()));
    l.dispose();
  }
  cache.dispose();
  return out;
}

describeBackends('decoder layer grouped products (linearMany, linearResidual)', () => {
  it('training logits and every gradient equal the unfused path', async () => {
    const model = new LlamaForCausalLM(config, { seed: 4 });
    const ids = randomIds(2, 11, config.vocab_size, 6);
    const backend = getBackend() as { linearParts: (...args: never[]) => unknown };
    const grouped = vi.spyOn(backend, 'linearParts');
    const fused = await trainingPass(model, ids);
    expect(grouped).toHaveBeenCalled(); // the fused path ran (3 products per layer: q/k/v, gate/up, down_proj)
    const plain = await unfused(() => trainingPass(model, ids));
    grouped.mockRestore();
    expect([...fused.keys()]).toEqual([...plain.keys()]);
    for (const [name, want] of plain) expect(relativeDiff(fused.get(name)!, want), name).toBeLessThan(2e-5);
    model.dispose();
  });

  it('prefill and batched decode logits (ragged lengths) equal the unfused path', async () => {
    const model = new LlamaForCausalLM(config, { seed: 8 });
    const prompts = [randomIds(1, 5, config.vocab_size, 1)[0]!, randomIds(1, 2, config.vocab_size, 2)[0]!];
    const fused = await decodePass(model, prompts, 3);
    const plain = await unfused(() => decodePass(model, prompts, 3));
    expect(relativeDiff(fused, plain)).toBeLessThan(2e-5);
    model.dispose();
  });
});
