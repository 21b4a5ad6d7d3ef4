// Reading Q4_K_M files: a GGUF whose matrices are Q4_K and Q6_K blocks made by llama.cpp's own quantizer
// (quantize_row_q4_K_ref / q6_K_ref in libggml-base, through ctypes), laid out as a Q4_K_M file. Andes must read
// the same weights llama.cpp dequantizes and generate the same greedy tokens as llama.cpp on that file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaForCausalLM } from '@andes/nn';
import type { GgmlTypeName } from '@andes/tensor';
import { dequantize, setBackend } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ggmlPeer } from '../test/ggml-peer.js';
import { greedyTokens, tinyModel, tinyTokenizer } from '../test/tiny-model.js';
import { GgufFile } from './gguf-file.js';
import { loadGgufModel, saveGgufModel } from './gguf-model.js';
import { writeGguf } from './gguf-writer.js';

const peer = ggmlPeer();
let nodeLlamaCpp: typeof import('node-llama-cpp') | undefined;
try {
  nodeLlamaCpp = await import('node-llama-cpp');
} catch {
  nodeLlamaCpp = undefined;
}
const ready = typeof peer !== 'string' && nodeLlamaCpp !== undefined;
if (!ready) console.warn('[skip] Q4_K_M test needs the ggml peer (python3 + node-llama-cpp binaries)');

let dir: string;
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'andes-kquant-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** llama.cpp's Q4_K_M choice for our tensor names: Q6_K for output, attn_v and ffn_down; Q4_K elsewhere. */
function q4kmType(name: string, shape: readonly number[]): GgmlTypeName {
  if (shape.length === 1) return 'F32';
  return /output\.weight|attn_v|ffn_down/.test(name) ? 'Q6_K' : 'Q4_K';
}

describe.skipIf(!ready)('Q4_K_M GGUF files made by ggml', () => {
  it('Andes reads the weights llama.cpp dequantizes and generates the same 8 greedy tokens', async () => {
    const p = peer as Exclude<typeof peer, string>;
    const tokenizer = await tinyTokenizer();
    // Rows of whole 256-weight super-blocks: width 256, FFN 512, head size 64.
    const model = tinyModel(tokenizer.vocabSize, { hidden_size: 256, intermediate_size: 512 }, 22);
    const f32 = join(dir, 'f32.gguf');
    await saveGgufModel(f32, { config: model.config, model, tokenizer });
    const source = await GgufFile.open(f32);
    const path = join(dir, 'q4_k_m.gguf');
    const blocks = new Map<string, Uint8Array>();
    try {
      const metadata = new Map(source.header.metadata);
      metadata.set('general.file_type', { type: 'u32', value: 15 }); // LLAMA_FTYPE_MOSTLY_Q4_K_M
      // Blocks are independent: quantize all tensors of a type in one call to ggml, then cut the bytes apart.
      const infos = source.header.tensors.map((info) => ({ info, type: q4kmType(info.name, info.shape) }));
      const values = new Map<string, Float32Array>();
      for (const { info } of infos)
        values.set(info.name, new Float32Array((await source.tensorBytes(info)).slice().buffer));
      for (const type of ['Q4_K', 'Q6_K'] as const) {
        const group = infos.filter((t) => t.type === type);
        const all = new Float32Array(group.reduce((n, t) => n + values.get(t.info.name)!.length, 0));
        let at = 0;
        for (const t of group) {
          all.set(values.get(t.info.name)!, at);
          at += values.get(t.info.name)!.length;
        }
        const bytes = p.quantize(type === 'Q4_K' ? 'q4_K' : 'q6_K', all);
        const perBlock = type === 'Q4_K' ? 144 : 210;
        let offset = 0;
        for (const t of group) {
          const size = (values.get(t.info.name)!.length / 256) * perBlock;
          blocks.set(t.info.name, bytes.slice(offset, offset + size));
          offset += size;
        }
      }
      const tensors = infos.map(({ info, type }) => {
        const bytes = blocks.get(info.name) ?? new Uint8Array(values.get(info.name)!.buffer);
        return { name: info.name, shape: info.shape, type, data: () => bytes };
      });
      await writeGguf(path, { metadata, tensors });
    } finally {
      await source.close();
    }
    const loaded = await loadGgufModel(path);
    expect(loaded.storedTypes.get('model.layers.1.mlp.down_proj.weight')).toBe('Q6_K');
    expect(loaded.storedTypes.get('model.layers.0.mlp.up_proj.weight')).toBe('Q4_K');
    const mismatches = (a: Float32Array, b: Float32Array) => a.filter((x, i) => !Object.is(x, b[i])).length;
    const up = blocks.get('blk.0.ffn_up.weight')!;
    const upLoaded = loaded.tensors.get('model.layers.0.mlp.up_proj.weight')!.data;
    expect(mismatches(upLoaded, p.dequantize('q4_K', up, 512 * 256))).toBe(0);
    const down = blocks.get('blk.1.ffn_down.weight')!;
    expect(mismatches(dequantize('Q6_K', down, 256 * 512), p.dequantize('q6_K', down, 256 * 512))).toBe(0);

    const copy = new LlamaForCausalLM(loaded.config);
    copy.loadStateDict(loaded.tensors);
    const prompt = Array.from(tokenizer.encode('Once upon a time the robot', { bos: true }));
    const andes = await greedyTokens(copy, prompt, 8);
    const llama = await nodeLlamaCpp!.getLlama({
      gpu: false,
      build: 'never',
      progressLogs: false,
      logLevel: nodeLlamaCpp!.LlamaLogLevel.error,
    });
    try {
      const lm = await llama.loadModel({ modelPath: path });
      const context = await lm.createContext({ contextSize: 64, threads: 1 });
      const got: number[] = [];
      for await (const token of context.getSequence().evaluate(prompt as never, { temperature: 0 })) {
        got.push(token as number);
        if (got.length === 8) break;
      }
      // llama.cpp stops at end-of-generation tokens without yielding them: compare up to Andes' first EOS.
      const eos = andes.tokens.indexOf(loaded.config.eos_token_id);
      expect(got).toEqual(eos >= 0 ? andes.tokens.slice(0, eos) : andes.tokens);
      expect(got.length).toBe(8);
      await context.dispose();
      await lm.dispose();
    } finally {
      await llama.dispose();
    }
  });
});
