import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import type { SentencePieceTokenizer } from '@andes/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logitsOf, maxAbsDiff, tinyModel, tinyTokenizer } from '../test/tiny-model.js';
import { loadLlama2cModel, saveLlama2cModel } from './llama2c-model.js';
import { decodeTokenizerBin, encodeTokenizerBin } from './llama2c-tokenizer.js';
import { permuteForHalfRope } from './rope-permutation.js';

let dir: string;
let tokenizer: SentencePieceTokenizer;
let prompt: number[];
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'andes-llama2c-'));
  tokenizer = await tinyTokenizer();
  prompt = Array.from(tokenizer.encode('The little robot sang', { bos: true }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function reload(path: string) {
  const loaded = await loadLlama2cModel(path);
  const copy = new LlamaForCausalLM(loaded.config, { seed: 5 });
  copy.loadStateDict(loaded.tensors);
  return { loaded, copy };
}

describe('llama2.c .bin models', () => {
  for (const tied of [false, true]) {
    for (const version of [0, 1] as const) {
      it(`v${version} ${tied ? 'shared' : 'separate'} classifier: export → read back gives identical logits`, async () => {
        const model = tinyModel(tokenizer.vocabSize, { tie_word_embeddings: tied, num_key_value_heads: 2 }, 11);
        const sub = join(dir, `v${version}-${tied}`);
        const path = join(sub, 'model.bin');
        const warnings = await saveLlama2cModel(path, { config: model.config, model, tokenizer, version });
        expect(warnings).toEqual([]);
        const { loaded, copy } = await reload(path);
        expect({ ...loaded.config, initializer_range: 0 }).toEqual({ ...model.config, initializer_range: 0 });
        expect(await logitsOf(copy, prompt)).toEqual(await logitsOf(model, prompt));
        const text = 'Every morning the birds sang about 42 trees.';
        expect(Array.from(loaded.tokenizer!.encode(text, { bos: true }))).toEqual(
          Array.from(tokenizer.encode(text, { bos: true })),
        );
        const header = new DataView((await readFile(path)).buffer);
        if (version === 0) expect(header.getInt32(20, true)).toBe(tied ? tokenizer.vocabSize : -tokenizer.vocabSize);
        else expect(header.getUint32(0, true)).toBe(0x616b3432);
      });
    }
  }

  it('v2 (int8 groups): weights within half a group step (scale = max|w|/127), norms exact; logits measured', async () => {
    const model = tinyModel(tokenizer.vocabSize);
    const path = join(dir, 'q80', 'model.bin');
    await saveLlama2cModel(path, { config: model.config, model, tokenizer, dtype: 'q8_0' });
    const { loaded, copy } = await reload(path);
    expect(loaded.storedTypes.get('model.layers.0.mlp.down_proj.weight')).toBe('int8/64');
    for (const [name, t] of model.stateDict()) {
      const w = (await t.data()) as Float32Array;
      const got = loaded.tensors.get(name)!.data;
      if (t.shape.length === 1) {
        expect(got, name).toEqual(w);
        continue;
      }
      for (let g = 0; g < w.length; g += 64) {
        const scale = Math.max(...Array.from(w.subarray(g, g + 64), Math.abs)) / 127;
        expect(maxAbsDiff(got.subarray(g, g + 64), w.subarray(g, g + 64))).toBeLessThanOrEqual(scale * 0.5001);
      }
    }
    const want = await logitsOf(model, prompt);
    const diff = maxAbsDiff(await logitsOf(copy, prompt), want);
    console.log(
      `[measure] llama2.c v2 int8/64: max |Δlogit| ${diff.toExponential(2)} (max |logit| ${maxAbsDiff(want, new Float32Array(want.length)).toFixed(2)})`,
    );
    expect(diff).toBeLessThan(0.05);
  });

  it('reads a legacy file built by hand from run.c’s layout', async () => {
    // dim 4, hidden 8, 1 layer, 2 heads (head size 2), 1 kv head, vocab −3 (separate classifier), seq_len 2.
    const counts = [3 * 4, 4, 4 * 4, 2 * 4, 2 * 4, 4 * 4, 4, 8 * 4, 4 * 8, 8 * 4, 4, 2, 2, 3 * 4];
    const total = counts.reduce((a, b) => a + b, 0);
    const bytes = new Uint8Array(28 + 4 * total);
    const v = new DataView(bytes.buffer);
    for (const [i, x] of [4, 8, 1, 2, 1, -3, 2].entries()) v.setInt32(4 * i, x, true);
    for (let i = 0; i < total; i++) v.setFloat32(28 + 4 * i, i + 0.5, true);
    const path = join(dir, 'hand', 'model.bin');
    await mkdir(join(dir, 'hand'), { recursive: true });
    await writeFile(path, bytes);
    const { config, tensors, tokenizer: tok } = await loadLlama2cModel(path);
    expect(tok).toBeUndefined();
    expect(config).toMatchObject({ hidden_size: 4, intermediate_size: 8, vocab_size: 3, tie_word_embeddings: false });
    const starts: number[] = [];
    for (let i = 0, at = 0; i < counts.length; at += counts[i]!, i++) starts.push(at);
    const run = (slot: number) => Float32Array.from({ length: counts[slot]! }, (_, i) => starts[slot]! + i + 0.5);
    const expectSlot = (name: string, slot: number) =>
      expect(Array.from(tensors.get(name)!.data), name).toEqual(Array.from(run(slot)));
    expectSlot('model.embed_tokens.weight', 0);
    expectSlot('model.layers.0.input_layernorm.weight', 1);
    expectSlot('model.layers.0.self_attn.v_proj.weight', 4);
    expectSlot('model.layers.0.self_attn.o_proj.weight', 5);
    expectSlot('model.layers.0.post_attention_layernorm.weight', 6);
    expectSlot('model.layers.0.mlp.gate_proj.weight', 7);
    expectSlot('model.layers.0.mlp.down_proj.weight', 8);
    expectSlot('model.layers.0.mlp.up_proj.weight', 9);
    expectSlot('model.norm.weight', 10);
    expectSlot('lm_head.weight', 13); // after the two skipped RoPE tables
    // q/k are stored interleaved (Meta) and returned in Hugging Face's half layout.
    const q = permuteForHalfRope({ shape: [4, 4], data: run(2) }, 2).data;
    expect(tensors.get('model.layers.0.self_attn.q_proj.weight')!.data).toEqual(q);
    const k = permuteForHalfRope({ shape: [2, 4], data: run(3) }, 1).data;
    expect(tensors.get('model.layers.0.self_attn.k_proj.weight')!.data).toEqual(k);
  });

  it('errors name the file and what is wrong', async () => {
    const model = tinyModel(tokenizer.vocabSize);
    const path = join(dir, 'err', 'model.bin');
    await saveLlama2cModel(path, { config: model.config, model });
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 4));
    await expect(loadLlama2cModel(path)).rejects.toThrow(/model\.bin: a llama2.c v0 file .*\(truncated\)/);
    await expect(
      saveLlama2cModel(path, { config: llamaConfig({ ...model.config, rope_theta: 5e5 }), model }),
    ).rejects.toThrow(/RoPE theta at 10000/);
    await expect(saveLlama2cModel(path, { config: model.config, model, dtype: 'q4_0' })).rejects.toThrow(
      /llama2.c stores f32 .* not q4_0/,
    );
    const eps = await saveLlama2cModel(path, { config: llamaConfig({ ...model.config, rms_norm_eps: 1e-6 }), model });
    expect(eps[0]).toMatch(/run.c uses 1e-5/);
  });
});

describe('tokenizer.bin', () => {
  it('stores pieces as run.c prints them and reads them back to the same tokenizer', () => {
    const bytes = encodeTokenizerBin(tokenizer);
    const v = new DataView(bytes.buffer);
    // Token 1 (BOS) is "\n<s>\n": score, length 5, bytes.
    let at = 4;
    const entry = () => {
      const len = v.getInt32(at + 4, true);
      const text = new TextDecoder().decode(bytes.subarray(at + 8, at + 8 + len));
      at += 8 + len;
      return text;
    };
    expect([entry(), entry(), entry()]).toEqual(['<unk>', '\n<s>\n', '\n</s>\n']);
    const back = decodeTokenizerBin(bytes, 'tok.bin', tokenizer.vocabSize);
    expect(back.vocabSize).toBe(tokenizer.vocabSize);
    for (let id = 0; id < tokenizer.vocabSize; id++) expect(back.idToPiece(id)).toBe(tokenizer.idToPiece(id));
    expect(() => decodeTokenizerBin(bytes.subarray(0, 50), 'short.bin', tokenizer.vocabSize)).toThrow(
      /short\.bin: ends at byte/,
    );
  });
});
