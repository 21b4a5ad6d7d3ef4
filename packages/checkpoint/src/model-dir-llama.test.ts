import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LlamaConfig, LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { noGrad, setBackend, tensor } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelDir, saveModelDir } from './model-dir.js';
import { loadTrainingCheckpoint, saveTrainingCheckpoint } from './training-checkpoint.js';

// Real LlamaForCausalLM on the CPU backend: what the trainer, server and evaluator will do.
let dir: string;
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'andes-llama-dir-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const base = {
  vocab_size: 37,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 16,
};

async function logits(model: LlamaForCausalLM, ids: number[]): Promise<Float32Array> {
  return noGrad(async () => {
    const input = tensor(new Int32Array(ids), [1, ids.length], { dtype: 'int32' });
    const out = model.forward(input);
    const values = (await out.data()) as Float32Array;
    out.dispose();
    input.dispose();
    return values;
  });
}

const ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];

describe('model directories with LlamaForCausalLM', () => {
  it('save(model) → load → loadStateDict reproduces the logits exactly', async () => {
    const config: LlamaConfig = llamaConfig(base);
    const model = new LlamaForCausalLM(config, { seed: 1 });
    await saveModelDir(join(dir, 'm'), { config, model });
    const loaded = await loadModelDir(join(dir, 'm'));
    const copy = new LlamaForCausalLM(loaded.config, { seed: 2 });
    copy.loadStateDict(loaded.tensors);
    expect(await logits(copy, ids)).toEqual(await logits(model, ids));
  });

  it('a model computing in the interleaved layout, saved in HF layout, runs identically as a half-layout model', async () => {
    const interleaved = new LlamaForCausalLM(llamaConfig({ ...base, rope_style: 'interleaved' }), { seed: 3 });
    await saveModelDir(join(dir, 'inter'), { config: interleaved.config, model: interleaved });
    const loaded = await loadModelDir(join(dir, 'inter')); // HF layout: half
    expect(loaded.config.rope_style).toBe('half');
    const half = new LlamaForCausalLM(loaded.config, { seed: 4 });
    half.loadStateDict(loaded.tensors);
    const want = await logits(interleaved, ids);
    const got = await logits(half, ids);
    for (let i = 0; i < want.length; i++) expect(got[i]!).toBeCloseTo(want[i]!, 5);
  });

  it('training checkpoints round-trip a model state dict', async () => {
    const config = llamaConfig({ ...base, tie_word_embeddings: true });
    const model = new LlamaForCausalLM(config, { seed: 5 });
    const ckptDir = await saveTrainingCheckpoint(join(dir, 'run'), { step: 7, model: model.stateDict() });
    const ckpt = await loadTrainingCheckpoint(ckptDir);
    const copy = new LlamaForCausalLM(config, { seed: 6 });
    copy.loadStateDict(
      new Map([...ckpt.model].map(([name, t]) => [name, { shape: t.shape, data: t.data as Float32Array }])),
    );
    expect(await logits(copy, ids)).toEqual(await logits(model, ids));
  });
});
