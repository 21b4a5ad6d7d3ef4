import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLoraAdapterDir, loadModel, loadModelDir, saveGgufModel, saveLoraAdapter } from '@andes/checkpoint';
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
    const adapterDir = await trainedAdapter(dir, 'adapter');

    const ids = [1, 20, 33, 47, 52, 61];
    const reference = new LlamaForCausalLM(loaded.config);
    reference.loadStateDict((await loadModelDir(dir)).tensors);
    await applyLoraAdapterDir(reference, adapterDir);
    reference.eval();
    const wantLast = await lastLogits(reference, ids);

    const served = await loadServedModel(dir, { id: 'x', maxSlots: 1, lora: adapterDir });
    const [{ logits: got }] = (await served.engine.step([{ seq: 0, ids, start: 0 }])) as [{ logits: Float32Array }];
    const plain = await loadServedModel(dir, { id: 'y', maxSlots: 1 });
    const [{ logits: base }] = (await plain.engine.step([{ seq: 0, ids, start: 0 }])) as [{ logits: Float32Array }];
    expect(got.length).toBe(loaded.config.vocab_size);
    expect(diff(got, wantLast)).toBeLessThan(1e-4);
    expect(diff(base, wantLast)).toBeGreaterThan(1e-3);
    served.engine.dispose();
    plain.engine.dispose();
  });

  it('on a GGUF base kept in Q8_0: the adapter stays a separate product beside the blocks (as QLoRA serves)', async () => {
    const { dir, model, tokenizer } = await tinyModel();
    const gguf = join(root, 'base.q8_0.gguf');
    await saveGgufModel(gguf, { config: model.config, model, tokenizer, dtype: 'q8_0' });
    const adapterDir = await trainedAdapter(dir, 'adapter-q8');
    const ids = [1, 20, 33, 47, 52, 61];
    // The reference: the same kept blocks, the adapter applied and left unmerged.
    const kept = await loadModel(gguf, { dtype: 'keep' });
    const reference = LlamaForCausalLM.fromWeights(kept.config, kept);
    await applyLoraAdapterDir(reference, adapterDir);
    reference.eval();
    const wantLast = await lastLogits(reference, ids);

    for (const engineWorkers of [0, 1]) {
      const served = await loadServedModel(gguf, { id: 'x', maxSlots: 1, lora: adapterDir, engineWorkers });
      const plain = await loadServedModel(gguf, { id: 'y', maxSlots: 1, engineWorkers });
      try {
        if (engineWorkers === 0) {
          const vProj = (served.engine as unknown as { model: LlamaForCausalLM }).model.model.layers.at(0).selfAttn
            .vProj;
          expect(vProj.blockWeight?.type).toBe('Q8_0');
          expect(vProj.adapter).not.toBeNull();
        }
        const [{ logits: got }] = (await served.engine.step([{ seq: 0, ids, start: 0 }])) as [{ logits: Float32Array }];
        const [{ logits: base }] = (await plain.engine.step([{ seq: 0, ids, start: 0 }])) as [{ logits: Float32Array }];
        expect(diff(got, wantLast), `engine workers ${engineWorkers}`).toBeLessThan(1e-4);
        expect(diff(base, wantLast)).toBeGreaterThan(1e-3);
      } finally {
        served.engine.dispose();
        plain.engine.dispose();
      }
    }
    reference.dispose();
  }, 60_000);
});

/** An adapter on v_proj and up_proj with nonzero up-projections, saved under `name`; returns its directory. */
async function trainedAdapter(dir: string, name: string): Promise<string> {
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
  const adapterDir = join(root, name);
  await saveLoraAdapter(adapterDir, trained, {
    r: 2,
    alpha: 4,
    targets: ['v_proj', 'up_proj'],
    dropout: 0.1,
    baseModel: dir,
  });
  trained.dispose();
  return adapterDir;
}

/** The last position's logits of `ids` through `model`. */
async function lastLogits(model: LlamaForCausalLM, ids: number[]): Promise<Float32Array> {
  const out = noGrad(() => model.forward(tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'int32' })));
  const values = ((await out.data()) as Float32Array).slice(-model.config.vocab_size);
  out.dispose();
  return values;
}

const diff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));
