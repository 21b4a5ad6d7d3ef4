import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type LlamaConfig, llamaConfig } from '@andes/nn';
import { float16ArrayToFloat32, float32ArrayToFloat16 } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelDir, saveModelDir } from './model-dir.js';
import { permuteForHalfRope } from './rope-permutation.js';
import { readSafetensors } from './safetensors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'andes-modeldir-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const config: LlamaConfig = llamaConfig({
  vocab_size: 11,
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 32,
});

/** A state dict with HF names and the shapes of `config`, filled with distinct values. */
function hostStateDict(c: LlamaConfig): Map<string, { shape: number[]; data: Float32Array }> {
  const d = c.hidden_size;
  const kv = (d / c.num_attention_heads) * c.num_key_value_heads;
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [c.vocab_size, d]]];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    shapes.push(
      [`${p}self_attn.q_proj.weight`, [d, d]],
      [`${p}self_attn.k_proj.weight`, [kv, d]],
      [`${p}self_attn.v_proj.weight`, [kv, d]],
      [`${p}self_attn.o_proj.weight`, [d, d]],
      [`${p}mlp.gate_proj.weight`, [c.intermediate_size, d]],
      [`${p}mlp.up_proj.weight`, [c.intermediate_size, d]],
      [`${p}mlp.down_proj.weight`, [d, c.intermediate_size]],
      [`${p}input_layernorm.weight`, [d]],
      [`${p}post_attention_layernorm.weight`, [d]],
    );
  }
  shapes.push(['model.norm.weight', [d]], ['lm_head.weight', [c.vocab_size, d]]);
  let k = 0;
  return new Map(
    shapes.map(([name, shape]) => [
      name,
      { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.sin(++k) * 0.3) },
    ]),
  );
}

describe('saveModelDir / loadModelDir', () => {
  it('writes the Hugging Face layout and loads it back exactly', async () => {
    const out = join(dir, 'f32');
    const state = hostStateDict(config);
    await saveModelDir(out, { config, stateDict: state, generationConfig: { temperature: 0.7 } });
    expect((await readdir(out)).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
    const json = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect(json).toMatchObject({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      torch_dtype: 'float32',
      hidden_act: 'silu',
      hidden_size: 8,
      num_key_value_heads: 1,
      bos_token_id: 1,
      eos_token_id: 2,
      tie_word_embeddings: false,
    });
    expect(json.rope_style).toBeUndefined();
    expect(Object.keys(json)).toEqual(Object.keys(json).sort());
    expect(JSON.parse(await readFile(join(out, 'generation_config.json'), 'utf8'))).toEqual({
      bos_token_id: 1,
      eos_token_id: 2,
      temperature: 0.7,
    });
    expect((await readSafetensors(join(out, 'model.safetensors'))).metadata).toEqual({ format: 'pt' });

    const loaded = await loadModelDir(out);
    expect(loaded.config).toEqual(config);
    expect(loaded.tokenizer).toBeUndefined();
    expect([...loaded.tensors.keys()].sort()).toEqual([...state.keys()].sort());
    for (const [name, t] of state) expect(loaded.tensors.get(name), name).toEqual(t);
  });

  it('stores float16 / bfloat16 with round-to-nearest-even and loads them as float32', async () => {
    const state = hostStateDict(config);
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const out = join(dir, dtype);
      await saveModelDir(out, { config, stateDict: state, dtype });
      expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')).torch_dtype).toBe(dtype);
      const header = await readSafetensors(join(out, 'model.safetensors'));
      expect(header.tensors.get('model.norm.weight')!.dtype).toBe(dtype === 'float16' ? 'F16' : 'BF16');
      const loaded = await loadModelDir(out);
      const w = state.get('model.layers.1.mlp.up_proj.weight')!.data;
      const got = loaded.tensors.get('model.layers.1.mlp.up_proj.weight')!.data;
      if (dtype === 'float16') expect(got).toEqual(float16ArrayToFloat32(float32ArrayToFloat16(w)));
      else
        for (let i = 0; i < w.length; i++)
          expect(Math.abs(got[i]! - w[i]!)).toBeLessThanOrEqual(Math.abs(w[i]!) * 2 ** -8);
    }
  });

  it('permutes q/k to the half layout on save when the model computes interleaved, and back on load', async () => {
    const interleaved = { ...config, rope_style: 'interleaved' as const };
    const state = hostStateDict(interleaved);
    const out = join(dir, 'interleaved');
    await saveModelDir(out, { config: interleaved, stateDict: state });
    const stored = (await readSafetensors(join(out, 'model.safetensors'))).tensors;
    const q = state.get('model.layers.0.self_attn.q_proj.weight')!;
    const k = state.get('model.layers.0.self_attn.k_proj.weight')!;
    expect(stored.get('model.layers.0.self_attn.q_proj.weight')!.data).toEqual(permuteForHalfRope(q, 2).data);
    expect(stored.get('model.layers.0.self_attn.k_proj.weight')!.data).toEqual(permuteForHalfRope(k, 1).data);
    expect(stored.get('model.layers.0.self_attn.v_proj.weight')!.data).toEqual(
      state.get('model.layers.0.self_attn.v_proj.weight')!.data,
    );

    const asHalf = await loadModelDir(out);
    expect(asHalf.config.rope_style).toBe('half');
    expect(asHalf.tensors.get('model.layers.0.self_attn.q_proj.weight')!.data).toEqual(permuteForHalfRope(q, 2).data);
    const asInterleaved = await loadModelDir(out, { ropeLayout: 'interleaved' });
    expect(asInterleaved.config.rope_style).toBe('interleaved');
    for (const [name, t] of state) expect(asInterleaved.tensors.get(name), name).toEqual(t);
  });

  it('loads sharded checkpoints through model.safetensors.index.json', async () => {
    const out = join(dir, 'sharded');
    const state = hostStateDict(config);
    await saveModelDir(out, { config, stateDict: state });
    // Split the single file into two shards by hand, as transformers lays them out.
    const all = (await readSafetensors(join(out, 'model.safetensors'))).tensors;
    const { writeSafetensors } = await import('./safetensors.js');
    const names = [...all.keys()];
    const shards = [names.slice(0, 5), names.slice(5)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      await writeSafetensors(join(out, file), new Map(shard.map((n) => [n, all.get(n)!])), { format: 'pt' });
      for (const n of shard) weightMap[n] = file;
    }
    await writeFile(join(out, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    await rename(join(out, 'model.safetensors'), join(out, 'unused.bin'));
    const loaded = await loadModelDir(out);
    for (const [name, t] of state) expect(loaded.tensors.get(name), name).toEqual(t);
  });

  it('explains what is wrong with a bad directory', async () => {
    await expect(loadModelDir(join(dir, 'missing'))).rejects.toThrow(/cannot read .*missing\/config\.json/);
    const out = join(dir, 'bad');
    await saveModelDir(out, { config, stateDict: hostStateDict(config) });
    await writeFile(join(out, 'config.json'), JSON.stringify({ model_type: 'gpt2' }));
    await expect(loadModelDir(out)).rejects.toThrow(/is not a LLaMA config \(model_type "gpt2"\)/);
    await writeFile(join(out, 'config.json'), JSON.stringify({ ...config, num_key_value_heads: 3 }));
    await expect(loadModelDir(out)).rejects.toThrow(/config\.json: LlamaConfig\.num_key_value_heads \(3\) must divide/);
    await writeFile(
      join(out, 'config.json'),
      JSON.stringify({ ...config, rope_scaling: { rope_type: 'llama3', factor: 8 } }),
    );
    await expect(loadModelDir(out)).rejects.toThrow(
      /rope_scaling = \{"rope_type":"llama3","factor":8\} is not supported/,
    );
    await writeFile(join(out, 'config.json'), JSON.stringify({ ...config, attention_bias: true }));
    await expect(loadModelDir(out)).rejects.toThrow(/attention_bias = true is not supported/);
    await expect(saveModelDir(join(dir, 'x'), { config })).rejects.toThrow(/give a model or a stateDict/);
  });

  it('names the chat template in tokenizer_config.json (as andes-serve reads it) and loads it back', async () => {
    for (const name of ['llama-2', 'alpaca', 'vicuna', 'chatml'] as const) {
      const out = join(dir, `chat-${name}`);
      await saveModelDir(out, { config, stateDict: hostStateDict(config), chatTemplate: name });
      // Written even without tokenizer files, with LLaMA's special pieces when no tokenizer names them.
      expect(JSON.parse(await readFile(join(out, 'tokenizer_config.json'), 'utf8'))).toMatchObject({
        chat_template: name,
        bos_token: '<s>',
        eos_token: '</s>',
        tokenizer_class: 'LlamaTokenizer',
        model_max_length: config.max_position_embeddings,
      });
      expect((await loadModelDir(out)).chatTemplate).toBe(name);
    }
    // No template given: no chat_template field, none loaded.
    const plain = join(dir, 'chat-none');
    await saveModelDir(plain, { config, stateDict: hostStateDict(config) });
    expect(existsSync(join(plain, 'tokenizer_config.json'))).toBe(false);
    expect((await loadModelDir(plain)).chatTemplate).toBeUndefined();
    // A Jinja template from another tool is not a name of ours: left alone.
    await writeFile(join(plain, 'tokenizer_config.json'), JSON.stringify({ chat_template: '{% for m in messages %}' }));
    expect((await loadModelDir(plain)).chatTemplate).toBeUndefined();
    // An unknown name is refused before anything is written.
    const bad = join(dir, 'chat-bad');
    await expect(
      saveModelDir(bad, { config, stateDict: hostStateDict(config), chatTemplate: 'zephyr' as 'chatml' }),
    ).rejects.toThrow(/saveModelDir: chatTemplate "zephyr" is not one of llama-2, alpaca, vicuna, chatml/);
    expect(existsSync(bad)).toBe(false);
  });
});

describe('model directory with a trained tokenizer', () => {
  it('writes tokenizer.model and tokenizer.json from the tokenizer and loads an identical tokenizer', async () => {
    const { trainBpe } = await import('@andes/tokenizer');
    const corpus = Array.from({ length: 200 }, (_, i) => `the cat ${i % 7} sat on the mat number ${i} with a hat`);
    const tok = await trainBpe(corpus, { vocabSize: 300 });
    const out = join(dir, 'trained-tokenizer');
    await saveModelDir(out, {
      config: { ...config, vocab_size: 300 },
      stateDict: hostStateDict({ ...config, vocab_size: 300 }),
      tokenizer: tok,
    });
    const files = await readdir(out);
    expect(files).toContain('tokenizer.model');
    expect(files).toContain('tokenizer.json');
    expect(new Uint8Array(await readFile(join(out, 'tokenizer.model')))).toEqual(tok.toModelProto());
    // bos_token / eos_token are the trained tokenizer's own pieces.
    const tokenizerConfig = JSON.parse(await readFile(join(out, 'tokenizer_config.json'), 'utf8'));
    expect(tokenizerConfig.bos_token).toBe(tok.idToPiece(tok.bosId));
    expect(tokenizerConfig.eos_token).toBe(tok.idToPiece(tok.eosId));
    expect(tokenizerConfig.chat_template).toBeUndefined();
    const loaded = await loadModelDir(out);
    const text = 'the hat sat on 12 mats';
    expect(loaded.tokenizer!.encode(text, { bos: true })).toEqual(tok.encode(text, { bos: true }));
  });
});

const fixture = resolve(import.meta.dirname, '../../../../shared/fixtures/llama2-tokenizer.model');
const tokenizerModule = (await import('@andes/tokenizer')) as Record<string, unknown>;
const canLoadTokenizer = existsSync(fixture) && typeof tokenizerModule.loadTokenizer === 'function';
if (!canLoadTokenizer)
  console.warn('[skip] LLaMA 2 tokenizer fixture or @andes/tokenizer loadTokenizer missing: tokenizer test skipped');

describe.skipIf(!canLoadTokenizer)('model directory tokenizer', () => {
  it('copies tokenizer.model and loads it with @andes/tokenizer', async () => {
    const out = join(dir, 'with-tokenizer');
    const bytes = new Uint8Array(await readFile(fixture));
    await saveModelDir(out, {
      config,
      stateDict: hostStateDict(config),
      tokenizerModel: bytes,
      chatTemplate: 'llama-2',
    });
    expect(new Uint8Array(await readFile(join(out, 'tokenizer.model')))).toEqual(bytes);
    expect(JSON.parse(await readFile(join(out, 'tokenizer_config.json'), 'utf8'))).toMatchObject({
      tokenizer_class: 'LlamaTokenizer',
      bos_token: '<s>',
      eos_token: '</s>',
      chat_template: 'llama-2',
    });
    const loaded = await loadModelDir(out);
    expect(loaded.chatTemplate).toBe('llama-2');
    // The pieces written are the ones the real tokenizer has at its BOS / EOS ids.
    expect(loaded.tokenizer!.idToPiece(loaded.tokenizer!.bosId)).toBe('<s>');
    expect(loaded.tokenizer!.idToPiece(loaded.tokenizer!.eosId)).toBe('</s>');
    expect(loaded.tokenizer!.encode('Hello world', { bos: true })).toEqual([1, 15043, 3186]);
  });
});
