import { join } from 'node:path';
import { LlamaForCausalLM } from '@andes/nn';
import { describe, expect, it } from 'vitest';
import { greedyTokens, logitsOf, maxAbsDiff, tinyGgufSetup } from '../test/tiny-model.js';
import { GgufFile } from './gguf-file.js';
import { loadGgufModel, saveGgufModel } from './gguf-model.js';
import { roundTripDtype, type WeightDtype } from './weight-dtype.js';

const tiny = tinyGgufSetup('gguf-model');

async function reload(path: string) {
  const loaded = await loadGgufModel(path);
  const copy = new LlamaForCausalLM(loaded.config, { seed: 99 });
  copy.loadStateDict(loaded.tensors);
  return { loaded, copy };
}

describe('LLaMA models as GGUF', () => {
  it('f32: export → read back gives the same config, tokenizer and logits exactly', async () => {
    const { dir, model, tokenizer, prompt } = tiny;
    const path = join(dir, 'tiny.f32.gguf');
    await saveGgufModel(path, { config: model.config, model, tokenizer });
    const { loaded, copy } = await reload(path);
    // GGUF has no key for the initialisation scale: everything else round-trips.
    expect({ ...loaded.config, initializer_range: 0 }).toEqual({ ...model.config, initializer_range: 0 });
    expect(loaded.format).toBe('gguf');
    const text = 'The birds sang a song\nabout the sea.';
    expect(Array.from(loaded.tokenizer!.encode(text, { bos: true }))).toEqual(
      Array.from(tokenizer.encode(text, { bos: true })),
    );
    expect(await logitsOf(copy, prompt)).toEqual(await logitsOf(model, prompt));
  });

  it('stores q/k in Meta interleaved order and tensors under llama.cpp names, dims innermost first', async () => {
    const { dir, model, tokenizer } = tiny;
    const path = join(dir, 'names.gguf');
    await saveGgufModel(path, { config: model.config, model, tokenizer });
    const file = await GgufFile.open(path);
    try {
      const q = file.info('blk.1.attn_q.weight')!;
      expect(q.shape).toEqual([64, 64]);
      expect(file.info('token_embd.weight')!.shape).toEqual([tokenizer.vocabSize, 64]);
      expect(file.info('blk.0.attn_k.weight')!.shape).toEqual([32, 64]);
      const stored = new Float32Array((await file.tensorBytes(q)).buffer);
      const hf = model.stateDict().get('model.layers.1.self_attn.q_proj.weight')!;
      const w = (await hf.data()) as Float32Array;
      // Head 2, rotary pair i = 3: HF rows (half layout) 2·16 + 3 and 2·16 + 8 + 3 are Meta rows 2·16 + 6 and + 7.
      expect(stored.subarray((32 + 6) * 64, (32 + 7) * 64)).toEqual(w.subarray((32 + 3) * 64, (32 + 4) * 64));
      expect(stored.subarray((32 + 7) * 64, (32 + 8) * 64)).toEqual(w.subarray((32 + 11) * 64, (32 + 12) * 64));
      expect(file.header.metadata.get('general.file_type')).toEqual({ type: 'u32', value: 0 });
    } finally {
      await file.close();
    }
  });

  for (const dtype of ['f16', 'bf16', 'q8_0', 'q4_0'] as WeightDtype[]) {
    it(`${dtype}: read back equals the ${dtype}-rounded weights; logits within a measured tolerance`, async () => {
      const { dir, model, tokenizer, prompt } = tiny;
      const path = join(dir, `tiny.${dtype}.gguf`);
      await saveGgufModel(path, { config: model.config, model, tokenizer, dtype });
      const { loaded, copy } = await reload(path);
      for (const [name, t] of model.stateDict()) {
        const want = roundTripDtype(t.shape, (await t.data()) as Float32Array, dtype);
        expect(loaded.tensors.get(name)!.data, name).toEqual(want);
      }
      const want = await logitsOf(model, prompt);
      const diff = maxAbsDiff(await logitsOf(copy, prompt), want);
      const scale = maxAbsDiff(want, new Float32Array(want.length));
      console.log(`[measure] GGUF ${dtype}: max |Δlogit| ${diff.toExponential(2)} (max |logit| ${scale.toFixed(2)})`);
      const tolerance = { f16: 0.005, bf16: 0.03, q8_0: 0.03, q4_0: 0.4, f32: 0 }[dtype];
      expect(diff).toBeLessThan(tolerance * scale);
    });
  }

  it('refuses a non-LLaMA parameter and a tokenizer it cannot embed', async () => {
    const { dir, model } = tiny;
    await expect(
      saveGgufModel(join(dir, 'x.gguf'), {
        config: model.config,
        stateDict: { 'model.extra.weight': { shape: [2], data: new Float32Array(2) } },
      }),
    ).rejects.toThrow(/model\.extra\.weight is not a LLaMA parameter/);
  });
});

// llama.cpp itself (node-llama-cpp's prebuilt CPU binary) runs the files Andes writes.
let nodeLlamaCpp: typeof import('node-llama-cpp') | undefined;
try {
  nodeLlamaCpp = await import('node-llama-cpp');
} catch (e) {
  console.warn(`[skip] node-llama-cpp unavailable: ${(e as Error).message}`);
}
const withLlamaCpp = nodeLlamaCpp ? it : it.skip;

describe('llama.cpp (node-llama-cpp 3.21.1, CPU) runs Andes GGUF files', () => {
  for (const dtype of ['f32', 'f16', 'q8_0', 'q4_0'] as WeightDtype[]) {
    withLlamaCpp(`${dtype}: same tokenization and the same 8 greedy tokens as Andes`, async () => {
      const { dir, model, tokenizer, prompt } = tiny;
      const path = join(dir, `llamacpp.${dtype}.gguf`);
      await saveGgufModel(path, { config: model.config, model, tokenizer, dtype });
      const { copy } = await reload(path); // Andes on the same (quantized) weights
      const andes = await greedyTokens(copy, prompt, 8);
      expect(andes.minMargin, 'greedy choices must be clear for the comparison to mean something').toBeGreaterThan(
        1e-3,
      );
      const llama = await nodeLlamaCpp!.getLlama({
        gpu: false,
        build: 'never',
        progressLogs: false,
        logLevel: nodeLlamaCpp!.LlamaLogLevel.error,
      });
      try {
        const lm = await llama.loadModel({ modelPath: path });
        expect(lm.tokenize('Once upon a time the robot')).toEqual(prompt.slice(1));
        const context = await lm.createContext({ contextSize: 64, threads: 1 });
        const sequence = context.getSequence();
        const got: number[] = [];
        for await (const token of sequence.evaluate(prompt as never, { temperature: 0 })) {
          got.push(token as number);
          if (got.length === 8) break;
        }
        expect(got).toEqual(andes.tokens);
        await context.dispose();
        await lm.dispose();
      } finally {
        await llama.dispose();
      }
    });
  }
});
