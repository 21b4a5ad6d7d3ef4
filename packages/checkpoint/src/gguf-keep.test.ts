import { join } from 'node:path';
import { generate, LlamaForCausalLM, useBlockWeights } from '@andes/nn';
import { getBackend, setBackend, setCpuMatmulKernels } from '@andes/tensor';
import { describeWebGpu } from '@andes/tensor/testing';
import { describe, expect, it } from 'vitest';
import { logitsOf, maxAbsDiff, tinyGgufSetup, tinyModel } from '../test/tiny-model.js';
import { saveGgufModel } from './gguf-model.js';
import { loadModel, saveModel } from './load-model.js';
import { isLoadDtype, loadOptionsOf, type WeightDtype } from './weight-dtype.js';

const tiny = tinyGgufSetup('gguf-keep');

describe("loadModel(…, { dtype: 'keep' }) keeps GGUF matrices in their blocks", () => {
  for (const [dtype, type] of [
    ['f16', 'F16'],
    ['q8_0', 'Q8_0'],
    ['q4_0', 'Q4_0'],
  ] as [WeightDtype, string][]) {
    it(`${dtype}: the same logits as the same file dequantized to float32 at load`, async () => {
      const { dir, model, tokenizer, prompt } = tiny;
      const path = join(dir, `tiny.${dtype}.gguf`);
      await saveGgufModel(path, { config: model.config, model, tokenizer, dtype });
      const f32 = await loadModel(path);
      const reference = new LlamaForCausalLM(f32.config, { seed: 1 });
      reference.loadStateDict(f32.tensors);

      const kept = await loadModel(path, { dtype: 'keep' });
      const blocks = kept.blockWeights!;
      expect(blocks.get('model.layers.0.self_attn.q_proj.weight')?.type).toBe(type);
      expect(blocks.get('model.layers.1.mlp.down_proj.weight')?.type).toBe(type);
      expect(blocks.get('model.embed_tokens.weight')?.type).toBe(type); // rows decoded on lookup
      for (const name of blocks.keys()) expect(kept.tensors.has(name)).toBe(false);
      const copy = new LlamaForCausalLM(kept.config, { seed: 2 });
      useBlockWeights(copy, blocks);
      copy.loadStateDict(kept.tensors); // strict: the moved weights are no longer parameters
      expect(copy.stateDict().has('model.layers.0.self_attn.q_proj.weight')).toBe(false);

      const want = await logitsOf(reference, prompt);
      const scale = Math.max(...Array.from(want, Math.abs));
      // Same weights: with the float64 JS kernels only the order of float32 sums differs.
      const previous = setCpuMatmulKernels('js');
      try {
        expect(maxAbsDiff(await logitsOf(copy, prompt), want)).toBeLessThan(1e-4 * scale);
      } finally {
        setCpuMatmulKernels(previous);
      }
      // The SIMD kernels round activations to int8 per 32-block for Q8_0 / Q4_0 as llama.cpp does (at most
      // max|x_block| / 254 per element; measured 0.9–1.2 % of the largest logit through this model's two layers);
      // f16 keeps float32 activations.
      const got = await logitsOf(copy, prompt);
      expect(maxAbsDiff(got, want)).toBeLessThan((dtype === 'f16' ? 1e-4 : 3e-2) * scale);
      reference.dispose();
      copy.dispose();
    });
  }

  it('keepHalves: false widens F16 to float32 (the logits of a plain load) and still keeps the quantized types', async () => {
    const { dir, model, tokenizer, prompt } = tiny;
    const f16 = join(dir, 'halves.f16.gguf');
    await saveGgufModel(f16, { config: model.config, model, tokenizer, dtype: 'f16' });
    const widened = await loadModel(f16, { dtype: 'keep', keepHalves: false });
    expect(widened.blockWeights!.size).toBe(0);
    // `auto` on the CPU backend (this suite's) is the same: the loader resolves it for the backend it loads onto.
    expect((await loadModel(f16, { dtype: 'auto' })).blockWeights!.size).toBe(0);
    const plain = await loadModel(f16);
    const a = LlamaForCausalLM.fromWeights(widened.config, widened);
    const b = LlamaForCausalLM.fromWeights(plain.config, plain);
    expect(await logitsOf(a, prompt)).toEqual(await logitsOf(b, prompt));
    const q8 = await loadModel(join(dir, 'tiny.q8_0.gguf'), { dtype: 'keep', keepHalves: false });
    expect(q8.blockWeights!.get('model.layers.0.self_attn.q_proj.weight')?.type).toBe('Q8_0');
    for (const w of q8.blockWeights!.values()) w.dispose();
    a.dispose();
    b.dispose();
  });

  for (const [dtype, type] of [
    ['f16', 'F16'],
    ['bf16', 'BF16'],
  ] as const) {
    it(`a Hugging Face ${dtype} directory: its matrices kept as ${type} blocks, the logits of the float32 load`, async () => {
      const { dir, model, tokenizer, prompt } = tiny;
      const hf = join(dir, `hf-${dtype}`);
      await saveModel(hf, { config: model.config, model, tokenizer, dtype });
      const kept = await loadModel(hf, { dtype: 'keep' });
      const blocks = kept.blockWeights!;
      for (const name of ['model.layers.0.self_attn.q_proj.weight', 'model.embed_tokens.weight', 'lm_head.weight']) {
        expect(blocks.get(name)?.type, name).toBe(type);
        expect(kept.tensors.has(name)).toBe(false);
        expect(kept.storedTypes.get(name)).toBe(type);
      }
      expect(kept.tensors.get('model.norm.weight')).toBeDefined(); // vectors stay float32
      const copy = LlamaForCausalLM.fromWeights(kept.config, kept);
      const plain = await loadModel(hf);
      const reference = LlamaForCausalLM.fromWeights(plain.config, plain);
      const want = await logitsOf(reference, prompt);
      const scale = Math.max(...Array.from(want, Math.abs));
      // The same half values either way (f16/bf16 → float32 is exact): only the order of float32 sums differs.
      expect(maxAbsDiff(await logitsOf(copy, prompt), want)).toBeLessThan(1e-4 * scale);
      expect((await loadModel(hf, { dtype: 'keep', keepHalves: false })).blockWeights).toBeUndefined();
      copy.dispose();
      reference.dispose();
    });
  }

  it('loadOptionsOf: auto keeps halves on WebGPU, not on the CPU; keep and the types pass through', () => {
    expect(loadOptionsOf('auto', 'cpu')).toEqual({ dtype: 'keep', keepHalves: false });
    expect(loadOptionsOf('auto', 'webgpu')).toEqual({ dtype: 'keep', keepHalves: true });
    expect(loadOptionsOf('keep', 'cpu')).toEqual({ dtype: 'keep', keepHalves: true });
    expect(loadOptionsOf('q4_0', 'cpu')).toEqual({ dtype: 'q4_0', keepHalves: true });
    expect(['auto', 'keep', 'f32', 'q8_0'].every(isLoadDtype)).toBe(true);
    expect(isLoadDtype('q4_k_m')).toBe(false);
  });

  it('names a kept weight the model has no Linear for', async () => {
    const { dir } = tiny;
    const kept = await loadModel(join(dir, 'tiny.q8_0.gguf'), { dtype: 'keep' });
    const w = kept.blockWeights!.get('model.layers.0.mlp.up_proj.weight')!;
    const copy = new LlamaForCausalLM(kept.config, { seed: 2 });
    expect(() => useBlockWeights(copy, new Map([['model.norm.weight', w]]))).toThrow(
      /useBlockWeights: model.norm.weight \(Q8_0\) is not the weight of a Linear or Embedding layer/,
    );
    for (const b of kept.blockWeights!.values()) b.dispose();
    copy.dispose();
  });
});

// On WebGPU the embedding table stays in its blocks too (decoded by the blockGather kernel): the same file kept on the
// GPU gives the CPU's logits (the CPU's float64 JS kernels, float32 activations like the GPU's) and greedy tokens.
describeWebGpu("loadModel(…, { dtype: 'keep' }) on WebGPU", () => {
  // The tied case reads the head through the same blocks as the lookup (blockLinear on the embedding table).
  for (const [dtype, type, tied] of [
    ['f16', 'F16', false],
    ['bf16', 'BF16', false],
    ['q8_0', 'Q8_0', false],
    ['q4_0', 'Q4_0', false],
    ['q4_0', 'Q4_0', true],
  ] as [WeightDtype, string, boolean][]) {
    const what = `${dtype}${tied ? ', tied head' : ''}`;
    it(`${what}: token_embd stays ${type} on the GPU; logits and 6 greedy tokens equal the CPU's`, async () => {
      const { dir, tokenizer, prompt } = tiny;
      const model = tied ? tinyModel(tokenizer.vocabSize, { tie_word_embeddings: true }) : tiny.model;
      const path = join(dir, `webgpu.${dtype}${tied ? '.tied' : ''}.gguf`);
      await setBackend('cpu');
      await saveGgufModel(path, { config: model.config, model, tokenizer, dtype });
      if (tied) model.dispose();
      const run = async () => {
        const kept = await loadModel(path, { dtype: 'keep' });
        const copy = LlamaForCausalLM.fromWeights(kept.config, kept);
        expect(copy.lmHead === null).toBe(tied);
        expect(copy.model.embedTokens.blockWeight?.type).toBe(type);
        expect(copy.model.embedTokens.blockWeight?.backend).toBe(getBackend());
        const logits = await logitsOf(copy, prompt);
        const tokens: number[] = [];
        for await (const id of generate(copy, prompt, { maxNewTokens: 6, temperature: 0, stop: () => false }))
          tokens.push(id);
        copy.dispose();
        return { logits, tokens };
      };
      const previous = setCpuMatmulKernels('js');
      const cpu = await run().finally(() => setCpuMatmulKernels(previous));
      await setBackend('webgpu');
      try {
        const gpu = await run();
        const scale = Math.max(...Array.from(cpu.logits, Math.abs));
        const diff = maxAbsDiff(gpu.logits, cpu.logits);
        console.log(
          `[measure] kept ${what} GGUF, WebGPU vs CPU: max |Δlogit| ${diff.toExponential(2)} (scale ${scale.toFixed(2)})`,
        );
        expect(diff).toBeLessThan(1e-5 * scale); // measured 3e-7–8e-7 of the scale on lavapipe
        expect(gpu.tokens).toEqual(cpu.tokens);
      } finally {
        await setBackend('cpu');
      }
    });
  }
});
