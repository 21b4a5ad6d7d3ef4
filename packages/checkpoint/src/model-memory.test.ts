import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { llamaConfig, llamaPreset } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModel } from '../test/tiny-model.js';
import { saveGgufModel } from './gguf-model.js';
import { kvCacheBytes, modelMemoryTable, weightBytes } from './model-memory.js';

let dir: string;
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'andes-memory-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const GiB = 2 ** 30;

describe('model memory per dtype', () => {
  it('matches the sizes llama.cpp reports for LLaMA-7B (llama-bench "model size")', () => {
    const config = llamaConfig({
      vocab_size: 32000,
      hidden_size: 4096,
      intermediate_size: 11008,
      num_hidden_layers: 32,
      num_attention_heads: 32,
    });
    // llama.cpp: F16 12.55 GiB, Q8_0 6.67 GiB, Q4_0 3.56 GiB (its output.weight is Q6_K), Q4_K_M 3.80 GiB.
    expect(weightBytes(config, 'f16') / GiB).toBeCloseTo(12.55, 1);
    expect(weightBytes(config, 'q8_0') / GiB).toBeCloseTo(6.67, 1);
    expect(Math.abs(weightBytes(config, 'q4_0') / GiB - 3.56)).toBeLessThan(0.05);
    expect(Math.abs(weightBytes(config, 'q4_k_m') / GiB - 3.8)).toBeLessThan(0.05);
    // KV cache f16 at 2048 positions: 2 · 32 layers · 2048 · 4096 · 2 bytes = 1 GiB.
    expect(kvCacheBytes(config, 2048)).toBe(GiB);
    expect(modelMemoryTable(config, 2048).map((r) => r.dtype)).toEqual([
      'f32',
      'f16',
      'bf16',
      'q8_0',
      'q4_0',
      'q4_k_m',
    ]);
  });

  it('equals the tensor bytes of the GGUF files Andes writes', async () => {
    const model = tinyModel(320);
    for (const dtype of ['f32', 'f16', 'q8_0', 'q4_0'] as const) {
      const path = join(dir, `m.${dtype}.gguf`);
      await saveGgufModel(path, { config: model.config, model, dtype });
      const { size } = await stat(path);
      const want = weightBytes(model.config, dtype);
      // The file adds its header and per-tensor padding to 32 bytes (21 tensors): under 4 KiB here.
      expect(size - want).toBeGreaterThan(0);
      expect(size - want).toBeLessThan(4096);
    }
    expect(weightBytes(llamaPreset('llama-7b'), 'q4_0')).toBeLessThan(weightBytes(llamaPreset('llama-7b'), 'q8_0'));
  });
});
