import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLora, LlamaForCausalLM, llamaConfig, loraAdapters, mergeLora } from '@andes/nn';
import { noGrad, setBackend, tensor } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  applyLoraAdapterDir,
  loadLoraAdapter,
  parsePeftAdapterConfig,
  saveLoraAdapter,
} from './lora-adapter.js';
import { readSafetensorsHeader } from './safetensors.js';

let dir: string;
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'andes-lora-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const config = llamaConfig({
  vocab_size: 29,
  hidden_size: 16,
  intermediate_size: 40,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
});
const ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];

async function logits(model: LlamaForCausalLM): Promise<Float32Array> {
  return noGrad(
    async () =>
      (await model.forward(tensor(new Int32Array(ids), [1, ids.length], { dtype: 'int32' })).data()) as Float32Array,
  );
}

/** A base model with trained-looking adapters (B random: a fresh adapter would not change any logit). */
function adapted(targets: string[]): LlamaForCausalLM {
  const model = new LlamaForCausalLM(config, { seed: 4 });
  applyLora(model, { r: 4, alpha: 8, targets, dropout: 0.05, seed: 9 });
  let s = 1;
  for (const adapter of loraAdapters(model).values()) {
    const b = adapter.loraB.weight;
    b.assign(
      tensor(
        Float32Array.from({ length: b.size }, () => ((s = (s * 48271) % 2147483647) / 2147483647 - 0.5) * 0.2),
        [...b.shape],
      ),
    );
  }
  return model;
}

describe('LoRA adapters in PEFT layout', () => {
  it('writes PEFT names, shapes and config for LlamaForCausalLM, and loads back to the same logits', async () => {
    const targets = ['q_proj', 'v_proj', 'down_proj'];
    const model = adapted(targets);
    const out = join(dir, 'adapter');
    await saveLoraAdapter(out, model, { r: 4, alpha: 8, targets, dropout: 0.05, baseModel: 'runs/default/model' });

    // Names and shapes as PEFT's get_peft_model_state_dict writes them for LlamaForCausalLM (spec, not our code).
    const expected: Record<string, number[]> = {};
    for (let i = 0; i < config.num_hidden_layers; i++) {
      const layer = `base_model.model.model.layers.${i}`;
      expected[`${layer}.self_attn.q_proj.lora_A.weight`] = [4, 16];
      expected[`${layer}.self_attn.q_proj.lora_B.weight`] = [16, 4];
      expected[`${layer}.self_attn.v_proj.lora_A.weight`] = [4, 16];
      expected[`${layer}.self_attn.v_proj.lora_B.weight`] = [8, 4];
      expected[`${layer}.mlp.down_proj.lora_A.weight`] = [4, 40];
      expected[`${layer}.mlp.down_proj.lora_B.weight`] = [16, 4];
    }
    const header = await readSafetensorsHeader(join(out, ADAPTER_WEIGHTS_FILE));
    expect(Object.fromEntries(header.entries.map((e) => [e.name, e.shape]))).toEqual(expected);
    expect(header.entries.every((e) => e.dtype === 'F32')).toBe(true);
    expect(header.metadata).toEqual({ format: 'pt' });
    const json = JSON.parse(await readFile(join(out, ADAPTER_CONFIG_FILE), 'utf8'));
    expect(json).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0.05,
      target_modules: targets,
      bias: 'none',
      fan_in_fan_out: false,
      base_model_name_or_path: 'runs/default/model',
    });

    const reloaded = new LlamaForCausalLM(config, { seed: 4 });
    const { config: read } = await applyLoraAdapterDir(reloaded, out);
    expect(read).toEqual({ r: 4, alpha: 8, targets, dropout: 0.05, baseModel: 'runs/default/model' });
    reloaded.eval();
    model.eval();
    const want = await logits(model);
    expect(await logits(reloaded)).toEqual(want);
    // The adapters matter: the base alone differs, and merging keeps the logits.
    const base = new LlamaForCausalLM(config, { seed: 4 });
    const plain = await logits(base);
    expect(Math.max(...plain.map((v, i) => Math.abs(v - (want[i] as number))))).toBeGreaterThan(1e-3);
    mergeLora(reloaded);
    const merged = await logits(reloaded);
    expect(Math.max(...merged.map((v, i) => Math.abs(v - (want[i] as number))))).toBeLessThan(1e-4);
    for (const m of [model, reloaded, base]) m.dispose();
  });

  it("reads tensors back under the model's own parameter names", async () => {
    const model = adapted(['k_proj']);
    const out = join(dir, 'plain');
    await saveLoraAdapter(out, model, { r: 4, alpha: 8, targets: ['k_proj'], dropout: 0, baseModel: '' });
    const { tensors } = await loadLoraAdapter(out);
    expect([...tensors.keys()].sort()).toEqual([
      'model.layers.0.self_attn.k_proj.lora_A.weight',
      'model.layers.0.self_attn.k_proj.lora_B.weight',
      'model.layers.1.self_attn.k_proj.lora_A.weight',
      'model.layers.1.self_attn.k_proj.lora_B.weight',
    ]);
    model.dispose();
  });

  it('fails with the file and field on malformed configs and mismatched tensors', async () => {
    const f = 'x/adapter_config.json';
    expect(() => parsePeftAdapterConfig('{', f)).toThrow(/x\/adapter_config.json: not valid JSON/);
    expect(() => parsePeftAdapterConfig('{"peft_type":"IA3"}', f)).toThrow(/field 'peft_type' must be "LORA"/);
    expect(() => parsePeftAdapterConfig('{"peft_type":"LORA","r":0}', f)).toThrow(/field 'r' must be a positive/);
    expect(() =>
      parsePeftAdapterConfig('{"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":"q_proj"}', f),
    ).toThrow(/field 'target_modules' must be a non-empty list/);
    expect(() =>
      parsePeftAdapterConfig('{"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":["q"],"use_dora":true}', f),
    ).toThrow(/field 'use_dora'/);
    // An adapter for q_proj whose config claims v_proj as well: the weights file does not fit.
    const model = adapted(['q_proj']);
    const out = join(dir, 'mismatch');
    await saveLoraAdapter(out, model, { r: 4, alpha: 8, targets: ['q_proj'], dropout: 0, baseModel: '' });
    const json = JSON.parse(await readFile(join(out, ADAPTER_CONFIG_FILE), 'utf8'));
    await writeFile(join(out, ADAPTER_CONFIG_FILE), JSON.stringify({ ...json, target_modules: ['q_proj', 'v_proj'] }));
    await expect(applyLoraAdapterDir(new LlamaForCausalLM(config), out)).rejects.toThrow(
      /adapter_model.safetensors: does not fit the model: missing \[base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight/,
    );
    await writeFile(join(out, ADAPTER_CONFIG_FILE), JSON.stringify({ ...json, r: 2 }));
    await expect(applyLoraAdapterDir(new LlamaForCausalLM(config), out)).rejects.toThrow(
      /has shape \[2, 16\] in the model but \[4, 16\]/,
    );
    model.dispose();
  });
});
