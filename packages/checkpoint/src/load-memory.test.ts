import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countParameters, type LlamaConfig, LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { dequantize, getBackend, memory, setBackend } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logitsOf, maxAbsDiff } from '../test/tiny-model.js';
import { GgufFile } from './gguf-file.js';
import { loadModel } from './load-model.js';
import { saveRandomGgufModel } from './random-llama-gguf.js';

// Rows of whole 32-element blocks; vocabulary 301 and 2 kv heads stay odd. Untied, as LLaMA-7B.
const config: LlamaConfig = llamaConfig({
  vocab_size: 301,
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
});
const prompt = [1, 17, 300, 42, 5, 99];

let dir: string;
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'andes-load-memory-'));
  // Written streaming from host bytes: no model tensors exist before the first test measures the peak.
  for (const dtype of ['q4_0', 'f16'] as const) {
    await saveRandomGgufModel(join(dir, `m.${dtype}.gguf`), { config, dtype, seed: 3, std: 0.1 });
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Bytes the CPU backend holds for the file's tensors when matrices stay in blocks: whole words of each. */
async function keptBytes(path: string): Promise<number> {
  const file = await GgufFile.open(path);
  try {
    let bytes = 0;
    for (const t of file.header.tensors) {
      bytes += t.shape.length === 2 ? Math.ceil(t.byteLength / 4) * 4 : t.shape.reduce((a, b) => a * b, 1) * 4;
    }
    return bytes;
  } finally {
    await file.close();
  }
}

describe("a 'keep' load into an empty model holds the file's blocks, never float32 matrices", () => {
  // First in the file: memory().peakBytes has seen no model yet, so any float32 copy of the matrices would show.
  it('q4_0: tensor memory peaks at the norms; the backend holds the block bytes', async () => {
    const path = join(dir, 'm.q4_0.gguf');
    const f32Bytes = countParameters(config).total * 4;
    const tensorsBefore = memory().bytes;
    const deviceBefore = getBackend().memory().bytesInUse;
    expect(memory().peakBytes).toBeLessThan(tensorsBefore + 0.05 * f32Bytes);
    const loaded = await loadModel(path, { dtype: 'keep', skipTokenizer: true });
    const model = LlamaForCausalLM.fromWeights(loaded.config, loaded);
    const normBytes = (2 * config.num_hidden_layers + 1) * config.hidden_size * 4;
    expect(loaded.tensors.size).toBe(0); // released as uploaded
    expect(memory().bytes - tensorsBefore).toBe(normBytes);
    expect(memory().peakBytes).toBeLessThan(tensorsBefore + normBytes + 0.05 * f32Bytes);
    const held = getBackend().memory().bytesInUse - deviceBefore;
    expect(held).toBe(await keptBytes(path));
    expect(held).toBeLessThan(0.2 * f32Bytes); // 4.5 bits of 32, plus the norms
    expect(model.model.embedTokens.blockWeight?.type).toBe('Q4_0');
    expect(model.lmHead?.blockWeight?.type).toBe('Q4_0');
    model.dispose();
    expect(getBackend().memory().bytesInUse).toBe(deviceBefore);
  });

  for (const dtype of ['q4_0', 'f16']) {
    it(`${dtype}: logits equal the existing path's (float32 load into a seeded model)`, async () => {
      const path = join(dir, `m.${dtype}.gguf`);
      const f32 = await loadModel(path, { skipTokenizer: true });
      const existing = new LlamaForCausalLM(f32.config, { seed: 1 });
      existing.loadStateDict(f32.tensors);
      const want = await logitsOf(existing, prompt);
      // fromWeights on the float32 load: the same tensors, so the same logits exactly.
      const fromF32 = LlamaForCausalLM.fromWeights(f32.config, f32);
      expect(await logitsOf(fromF32, prompt)).toEqual(want);
      const kept = await loadModel(path, { dtype: 'keep', skipTokenizer: true });
      const model = LlamaForCausalLM.fromWeights(kept.config, kept);
      const got = await logitsOf(model, prompt);
      const scale = Math.max(...Array.from(want, Math.abs));
      expect(scale).toBeGreaterThan(0.05);
      // Same weights; only the order of float32 sums differs (blocks decoded inside the kernel).
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-4 * scale);
      for (const m of [existing, fromF32, model]) m.dispose();
    });
  }

  it('saveRandomGgufModel: tensors of one shape differ, values have the asked std, norms are 1', async () => {
    const file = await GgufFile.open(join(dir, 'm.f16.gguf'));
    try {
      const read = async (name: string) => {
        const info = file.info(name)!;
        return dequantize(
          info.type!,
          await file.tensorBytes(info),
          info.shape.reduce((a, b) => a * b, 1),
        );
      };
      const q0 = await read('blk.0.attn_q.weight');
      const q1 = await read('blk.1.attn_q.weight');
      expect(maxAbsDiff(q0, q1)).toBeGreaterThan(0.05);
      const std = Math.sqrt(q0.reduce((s, v) => s + v * v, 0) / q0.length);
      expect(Math.abs(std - 0.1)).toBeLessThan(0.01);
      expect([...(await read('output_norm.weight'))].every((v) => v === 1)).toBe(true);
      expect(file.header.tensors.length).toBe(2 + 9 * config.num_hidden_layers + 1);
    } finally {
      await file.close();
    }
  });
});
