import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModel } from '@andes/checkpoint';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldWeights } from './dry-run.js';

// The ready line's account of the weights must follow what `loadOptionsOf` makes the loader hold: a GGUF's own types
// (halves widened on the CPU under auto), a Hugging Face directory's halves where they are kept, else float32.
describe('heldWeights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'andes-held-'));
  const paths = { f16: join(dir, 'm.f16.gguf'), q8: join(dir, 'm.q8_0.gguf'), bf16: join(dir, 'hf-bf16') };
  beforeAll(async () => {
    const model = new LlamaForCausalLM(llamaPreset('nano', { vocab_size: 64 }), { seed: 5 });
    await saveModel(paths.f16, { config: model.config, model, dtype: 'f16' });
    await saveModel(paths.q8, { config: model.config, model, dtype: 'q8_0' });
    await saveModel(paths.bf16, { config: model.config, model, dtype: 'bf16' });
    model.dispose();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the types held per --dtype and backend', async () => {
    expect(await heldWeights(paths.q8, 'auto', 'cpu')).toMatch(
      /^weights held as Q8_0 ×\d+, F32 ×\d+, [\d.]+ (KiB|MiB)$/,
    );
    // An F16 file: widened on the CPU under auto (F32 only, twice the bytes), kept on WebGPU and under keep.
    const widened = await heldWeights(paths.f16, 'auto', 'cpu');
    const halves = await heldWeights(paths.f16, 'auto', 'webgpu');
    expect(widened).toMatch(/^weights held as F32 ×\d+, /);
    expect(halves).toMatch(/F16 ×\d+/);
    expect(await heldWeights(paths.f16, 'keep', 'cpu')).toBe(halves);
    const bytes = (s: string) => Number(/, ([\d.]+) MiB$/.exec(s)?.[1]);
    expect(bytes(widened)).toBeGreaterThan(1.8 * bytes(halves));
    expect(await heldWeights(paths.bf16, 'auto', 'webgpu')).toBe('weights held as BF16 (matrices) and float32 (norms)');
    expect(await heldWeights(paths.bf16, 'auto', 'cpu')).toBe('weights in float32');
    expect(await heldWeights(paths.q8, 'f32', 'cpu')).toBe('weights in float32');
    expect(await heldWeights(paths.q8, 'q4_0', 'webgpu')).toBe('weights in float32, rounded through q4_0');
  });
});
