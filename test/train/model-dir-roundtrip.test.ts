import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelDir, saveModelDir } from '@andes/checkpoint';
import { LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { noGrad, setBackend, tensor } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'andes-model-dir-'));
beforeAll(async () => {
  await setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function logits(model: LlamaForCausalLM, ids: number[][]): Promise<Float32Array> {
  const input = tensor(Int32Array.from(ids.flat()), [ids.length, ids[0]!.length], { dtype: 'int32' });
  const out = noGrad(() => model.forward(input));
  const data = (await out.data()) as Float32Array;
  out.dispose();
  input.dispose();
  return data;
}

describe('save → load a model directory', () => {
  // Odd sizes on purpose (GQA 6/2 heads, untied head, interleaved RoPE, which is permuted on save and back on load).
  for (const rope_style of ['half', 'interleaved'] as const) {
    it(`gives bit-identical logits (${rope_style} RoPE)`, async () => {
      const config = llamaConfig({
        vocab_size: 37,
        hidden_size: 48,
        intermediate_size: 80,
        num_hidden_layers: 2,
        num_attention_heads: 6,
        num_key_value_heads: 2,
        max_position_embeddings: 32,
        tie_word_embeddings: false,
        rope_style,
      });
      const model = new LlamaForCausalLM(config, { seed: 5 });
      const ids = [
        [1, 5, 9, 36, 2, 0, 17],
        [1, 30, 30, 4, 8, 11, 3],
      ];
      const before = await logits(model, ids);
      const path = join(dir, rope_style);
      await saveModelDir(path, { config, model });
      const loaded = await loadModelDir(path, { ropeLayout: rope_style });
      expect(loaded.config.rope_style).toBe(rope_style);
      const reloaded = new LlamaForCausalLM(loaded.config, { seed: 99 });
      reloaded.loadStateDict(loaded.tensors);
      const after = await logits(reloaded, ids);
      expect(after.length).toBe(2 * 7 * 37);
      expect(Array.from(after)).toEqual(Array.from(before));
      model.dispose();
      reloaded.dispose();
    });
  }
});
