import { adamwStep, keep, memory, setBackend, type Tensor, tensor, tidy, zerosLike } from '@andes/tensor';
import { describeWebGpu } from '@andes/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idsTensor, randomIds } from '../test/helpers.js';
import { type LlamaConfig, llamaConfig } from './config.js';
import { LlamaForCausalLM } from './llama.js';

beforeAll(async () => {
  await setBackend('cpu');
});
afterAll(async () => {
  await setBackend('cpu');
});

/** Runs `steps` AdamW steps on one fixed batch; returns the loss before each step. */
async function train(
  model: LlamaForCausalLM,
  ids: number[][],
  targets: number[][],
  steps: number,
  lr: number,
): Promise<number[]> {
  const params = model.parameters();
  const m = params.map((p) => keep(zerosLike(p)));
  const v = params.map((p) => keep(zerosLike(p)));
  const losses: number[] = [];
  const input = keep(idsTensor(ids));
  const target = keep(
    tensor(Int32Array.from(targets.flat()), [targets.length, targets[0]?.length ?? 0], { dtype: 'int32' }),
  );
  for (let step = 1; step <= steps; step++) {
    const loss = tidy(() => {
      const l = model.loss(input, target);
      l.backward();
      params.forEach((p, i) => {
        adamwStep(p, m[i] as Tensor, v[i] as Tensor, { lr, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, step });
      });
      return keep(l.detach());
    });
    losses.push(await loss.item());
    loss.dispose();
    for (const p of params) p.zeroGrad();
  }
  for (const t of [...m, ...v, input, target]) t.dispose();
  return losses;
}

const config: LlamaConfig = llamaConfig({
  vocab_size: 16,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 16,
});

describe('training', () => {
  it('a 2-layer model overfits one batch to near-zero loss', async () => {
    const model = new LlamaForCausalLM(config, { seed: 1 });
    const ids = randomIds(2, 16, 16, 3);
    const targets = ids.map((seq) => [...seq.slice(1), 0]);
    const before = memory().tensors;
    const losses = await train(model, ids, targets, 120, 1e-2);
    // Forward, backward and updates inside tidy leave nothing behind (gradients were zeroed).
    expect(memory().tensors).toBe(before);
    expect(losses[0]).toBeGreaterThan(2.3); // ≈ ln 16 at init
    expect(losses[losses.length - 1]).toBeLessThan(0.05);
    model.dispose();
  });

  it('gradient checkpointing keeps far fewer activations alive between forward and backward, same gradients', async () => {
    const deep = llamaConfig({ ...config, num_hidden_layers: 6 });
    const ids = idsTensor(randomIds(2, 16, 16, 9));
    const targets = idsTensor(randomIds(2, 16, 16, 10));
    const measure = async (recompute: boolean) => {
      const model = new LlamaForCausalLM(deep, { seed: 3 });
      model.gradientCheckpointing = recompute;
      const base = memory().bytes;
      const loss = model.loss(ids, targets);
      const held = memory().bytes - base;
      loss.backward();
      const grad = (await model.model.layers.at(0).selfAttn.qProj.weight.grad?.data()) as Float32Array;
      loss.dispose();
      model.dispose();
      return { held, grad };
    };
    const full = await measure(false);
    const recomputed = await measure(true);
    expect(recomputed.held).toBeLessThan(full.held / 2);
    let diff = 0;
    for (let i = 0; i < full.grad.length; i++)
      diff = Math.max(diff, Math.abs((full.grad[i] as number) - (recomputed.grad[i] as number)));
    expect(diff).toBeLessThan(1e-6);
    ids.dispose();
    targets.dispose();
  });

  describeWebGpu('training', () => {
    it('WebGPU and CPU give the same losses for the first 5 steps', async () => {
      const ids = randomIds(2, 12, 16, 5);
      const targets = ids.map((seq) => [...seq.slice(1), 1]);
      await setBackend('cpu');
      const cpuModel = new LlamaForCausalLM(config, { seed: 2 });
      const host = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [name, p] of cpuModel.stateDict())
        host.set(name, { shape: [...p.shape], data: (await p.data()) as Float32Array });
      const cpuLosses = await train(cpuModel, ids, targets, 5, 3e-3);
      cpuModel.dispose();
      await setBackend('webgpu');
      const gpuModel = new LlamaForCausalLM(config, { seed: 2 });
      gpuModel.loadStateDict(host);
      const gpuLosses = await train(gpuModel, ids, targets, 5, 3e-3);
      gpuModel.dispose();
      await setBackend('cpu');
      for (let i = 0; i < 5; i++)
        expect(Math.abs((gpuLosses[i] as number) - (cpuLosses[i] as number))).toBeLessThan(1e-3);
      expect(cpuLosses[4]).toBeLessThan(cpuLosses[0] as number);
    });
  });
});
