// A model directory in memory (encodeModelDir) and from picked files (modelFilesFromMap + loadModelFiles) is
// byte-for-byte the directory saveModelDir writes, and loads to the same weights as loadModelDir; errors name the
// directory and the file.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LlamaConfig, llamaConfig } from '@andes/nn';
import { SeededRandom } from '@andes/tensor';
import { trainBpe } from '@andes/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModelDir, loadModelDir, loadModelFiles, saveModelDir } from './model-dir.js';
import { modelFilesFromMap } from './model-files.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'andes-modelfiles-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const config: LlamaConfig = llamaConfig({
  vocab_size: 270,
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 16,
});

/** Random weights with the shapes of `config` (HF names). */
function randomStateDict(seed: number): Map<string, { shape: number[]; data: Float32Array }> {
  const rng = new SeededRandom(seed);
  const d = config.hidden_size;
  const shapes: [string, number[]][] = [
    ['model.embed_tokens.weight', [config.vocab_size, d]],
    ['model.layers.0.self_attn.q_proj.weight', [d, d]],
    ['model.layers.0.self_attn.k_proj.weight', [4, d]],
    ['model.layers.0.self_attn.v_proj.weight', [4, d]],
    ['model.layers.0.self_attn.o_proj.weight', [d, d]],
    ['model.layers.0.mlp.gate_proj.weight', [12, d]],
    ['model.layers.0.mlp.up_proj.weight', [12, d]],
    ['model.layers.0.mlp.down_proj.weight', [d, 12]],
    ['model.layers.0.input_layernorm.weight', [d]],
    ['model.layers.0.post_attention_layernorm.weight', [d]],
    ['model.norm.weight', [d]],
    ['lm_head.weight', [config.vocab_size, d]],
  ];
  return new Map(
    shapes.map(([name, shape]) => {
      const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
      return [name, { shape, data }];
    }),
  );
}

describe('model directories in memory and from picked files', () => {
  it('encodeModelDir has the bytes saveModelDir writes; loadModelFiles loads what loadModelDir loads', async () => {
    const tokenizer = await trainBpe(['the cat sat on the mat', 'a dog ran'], { vocabSize: 270, byteFallback: true });
    const options = { config, stateDict: randomStateDict(5), tokenizer, chatTemplate: 'chatml' as const };
    const out = join(dir, 'saved');
    await saveModelDir(out, options);
    const files = await encodeModelDir(options);
    expect([...files.keys()].sort()).toEqual((await readdir(out)).sort());
    for (const [name, bytes] of files)
      expect(Buffer.from(bytes).equals(await readFile(join(out, name))), name).toBe(true);

    // As a browser hands them over: names with the picked folder in front, bytes behind arrayBuffer().
    const picked = new Map(
      [...files].map(([name, bytes]) => [`saved/${name}`, { arrayBuffer: async () => bytes.slice().buffer }] as const),
    );
    const fromFiles = await loadModelFiles(modelFilesFromMap('saved', picked));
    const fromDisk = await loadModelDir(out);
    expect(fromFiles.config).toEqual(fromDisk.config);
    expect(fromFiles.chatTemplate).toBe('chatml');
    expect([...fromFiles.tensors.keys()]).toEqual([...fromDisk.tensors.keys()]);
    for (const [name, t] of fromDisk.tensors) expect(fromFiles.tensors.get(name)!.data).toEqual(t.data);
    expect(fromFiles.tokenizer!.encode('the cat')).toEqual(tokenizer.encode('the cat'));
  });

  it('names the directory and the file when something is missing or malformed', async () => {
    const empty = modelFilesFromMap('picked', new Map());
    await expect(loadModelFiles(empty)).rejects.toThrow('loadModelDir: cannot read picked/config.json (no such file)');
    const bad = modelFilesFromMap('picked', new Map([['config.json', new TextEncoder().encode('{"model_type":')]]));
    await expect(loadModelFiles(bad)).rejects.toThrow(/picked\/config\.json is not valid JSON/);
    const noWeights = modelFilesFromMap(
      'picked',
      new Map([['config.json', new TextEncoder().encode(JSON.stringify({ ...config, model_type: 'llama' }))]]),
    );
    await expect(loadModelFiles(noWeights)).rejects.toThrow(
      'loadModelDir: picked has neither model.safetensors nor model.safetensors.index.json',
    );
  });
});
