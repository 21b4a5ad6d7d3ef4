import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLoraAdapterDir, loadModelDir, saveLoraAdapter } from '@andes/checkpoint';
import { applyLora, LlamaForCausalLM, loraAdapters } from '@andes/nn';
import { loadServedModel } from '@andes/serve';
import { noGrad, tensor } from '@andes/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyModel } from './tiny-model.js';

const root = mkdtempSync(join(tmpdir(), 'andes-serve-lora-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('andes-serve --lora', () => {
  it('serves base + adapter: prefill logits equal the unmerged adapter model, and differ from the base', async () => {
    const { dir } = await tinyModel();
    const loaded = await loadModelDir(dir);
    const trained = new LlamaForCausalLM(loaded.config);
    trained.loadStateDict(loaded.tensors);
    applyLora(trained, { r: 2, alpha: 4, targets: ['v_proj', 'up_proj'], dropout: 0.1, seed: 3 });
    for (const adapter of loraAdapters(trained).values()) {
      const b = adapter.loraB.weight;
      b.assign(
        tensor(
          Float32Array.from({ length: b.size }, (_, i) => Math.cos(i) * 0.5),
          [...b.shape],
        ),
      );
    }
    const adapterDir = join(root, 'adapter');
    await saveLoraAdapter(adapterDir, trained, {
      r: 2,
      alpha: 4,
      targets: ['v_proj', 'up_proj'],
      dropout: 0.1,
      baseModel: dir,
    });

    const ids = [1, 20, 33, 47, 52, 61];
    const reference = new LlamaForCausalLM(loaded.config);
    reference.loadStateDict((await loadModelDir(dir)).tensors);
    await applyLoraAdapterDir(reference, adapterDir);
    reference.eval();
    const want = noGrad(() => reference.forward(tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'int32' })));
    const wantLast = ((await want.data()) as Float32Array).slice(-loaded.config.vocab_size);

    const served = await loadServedModel(dir, { id: 'x', maxSlots: 1, lora: adapterDir });
    const [{ logits: got }] = (await served.engine.step([{ seq: 0, ids, start: 0 }])) as [{ logits: Float32Array }];
    const plain = await loadServedModel(dir, { id: 'y', maxSlots: 1 });
    const [{ logits: base }] = (await plain.engine.step([{ seq: 0, ids, start: 0 }])) as [{ logits: Float32Array }];
    const diff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));
    expect(got.length).toBe(loaded.config.vocab_size);
    expect(diff(got, wantLast)).toBeLessThan(1e-4);
    expect(diff(base, wantLast)).toBeGreaterThan(1e-3);
    served.engine.dispose();
    plain.engine.dispose();
  });
});
