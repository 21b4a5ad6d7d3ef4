/**
 * The server on the WebGPU backend (lavapipe here): greedy output equals the model's own greedy `generate` on the
 * same backend, and concurrent streams all complete. Skipped with a visible line when no adapter exists (set
 * ANDES_REQUIRE_WEBGPU=1 to fail instead), as every WebGPU test decides through `@andes/tensor/testing`.
 */
import { join } from 'node:path';
import { loadModel, saveGgufModel, saveModel } from '@andes/checkpoint';
import { generateIds, LlamaForCausalLM } from '@andes/nn';
import { createServer, loadServedModel, warmUp } from '@andes/serve';
import { getBackend, setBackend } from '@andes/tensor';
import { describeWebGpu } from '@andes/tensor/testing';
import OpenAI from 'openai';
import { expect, it } from 'vitest';
import { tinyModel } from './tiny-model.js';

describeWebGpu('andes-serve', () => {
  it('greedy completions equal generate on the same backend; 4 concurrent streams complete', async () => {
    const tiny = await tinyModel(); // built and saved on the CPU backend
    await setBackend('webgpu');
    const served = await loadServedModel(tiny.dir, { id: 'tiny', maxSlots: 4 });
    const server = createServer({ load: async () => served });
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      await server.loaded;
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
      // The reference model: the same weights on WebGPU, its own KV cache, greedy generate.
      const reference = new LlamaForCausalLM(tiny.model.config);
      reference.loadStateDict(
        new Map(
          await Promise.all(
            [...tiny.model.stateDict()].map(
              async ([name, p]) => [name, { shape: [...p.shape], data: (await p.data()) as Float32Array }] as const,
            ),
          ),
        ),
      );
      const prompt = 'Once upon a time';
      const ids = tiny.tokenizer.encode(prompt, { bos: true });
      const ref = await generateIds(reference, ids, { maxNewTokens: 8, temperature: 0, stop: served.eosIds });
      const expected = tiny.tokenizer.decode([...ids, ...ref]).slice(tiny.tokenizer.decode(ids).length);
      const r = await client.completions.create({ model: 'tiny', prompt, max_tokens: 8, temperature: 0 });
      expect(r.choices[0]!.text).toBe(expected);
      const counts = await Promise.all(
        ['Lily', 'Tom', 'The dog', 'The sun'].map(async (p) => {
          const stream = await client.completions.create({
            model: 'tiny',
            prompt: p,
            max_tokens: 6,
            temperature: 0,
            logit_bias: { [String(tiny.tokenizer.eosId)]: -100 },
            stream: true,
            stream_options: { include_usage: true },
          });
          let usage = 0;
          for await (const chunk of stream) if (chunk.usage) usage = chunk.usage.completion_tokens;
          return usage;
        }),
      );
      expect(counts).toEqual([6, 6, 6, 6]);
      reference.dispose();
    } finally {
      await server.shutdown(100);
      await setBackend('cpu');
    }
  });

  it('the model in an engine worker on WebGPU gives the main-thread tokens, greedy and seeded', async () => {
    const tiny = await tinyModel();
    await setBackend('webgpu');
    const servers = await Promise.all(
      [0, 1].map(async (engineWorkers) => {
        const served = await loadServedModel(tiny.dir, { id: 'tiny', maxSlots: 4, engineWorkers });
        const server = createServer({ load: async () => served });
        const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
        await server.loaded;
        return { server, client: new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 }) };
      }),
    );
    try {
      // Four requests at once through each server: two greedy, two seeded at temperature 0.9.
      const texts = await Promise.all(
        servers.map(({ client }) =>
          Promise.all(
            ['Lily', 'Tom had', 'The dog', 'The sun was'].map(async (prompt, i) => {
              const r = await client.completions.create({
                model: 'tiny',
                prompt,
                max_tokens: 7,
                temperature: i < 2 ? 0 : 0.9,
                seed: 40 + i,
                logit_bias: { [String(tiny.tokenizer.eosId)]: -100 },
              });
              return r.choices[0]!.text;
            }),
          ),
        ),
      );
      expect(texts[0]!.every((t) => t.length > 0)).toBe(true);
      expect(texts[1]).toEqual(texts[0]);
    } finally {
      for (const { server } of servers) await server.shutdown(100);
      await setBackend('cpu');
    }
  });

  it.each([['a float32 directory'], ['a Q8_0 GGUF kept in its blocks']])(
    'after the warm-up, steps of any size up to its rows and batch compile no kernel (%s)',
    async (what: string) => {
      const tiny = await tinyModel();
      let path = tiny.dir;
      if (what.includes('Q8_0')) {
        path = join(tiny.dir, 'warm-up.q8_0.gguf');
        await saveGgufModel(path, {
          config: tiny.model.config,
          model: tiny.model,
          tokenizer: tiny.tokenizer,
          dtype: 'q8_0',
        });
      }
      await setBackend('webgpu');
      const rt = (getBackend() as unknown as { rt: { compiled: number } }).rt;
      const served = await loadServedModel(path, { id: 'tiny', maxSlots: 4 });
      const { engine } = served;
      try {
        // Up to 32 rows: the sweep runs 2, 3, 5, 9 and 17 rows, which never pick the 32-row strip that 25–32 rows run.
        await warmUp(engine, { batch: true, maxRows: 32 });
        const compiled = rt.compiled;
        const sample = { temperature: 0.8, topK: 0, topP: 1, uniform: 0.37 };
        const prompt = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 3 + ((seed * 31 + i * 7) % 90));
        // Row counts on either side of the broadcast strips' heights (16, 24, 32), and the batch at 3 sequences.
        for (const rows of [3, 15, 17, 23, 26, 31, 32]) {
          await engine.step([{ seq: 0, ids: prompt(rows, rows), start: 0, sample }]);
          engine.release(0);
        }
        const three = [0, 1, 2];
        await engine.step(three.map((seq) => ({ seq, ids: prompt(5 + seq, seq), start: 0, sample })));
        await engine.step(three.map((seq) => ({ seq, ids: [7], start: 5 + seq, sample })));
        // Two decodes beside a 19-row prompt: 21 rows, 3 output rows.
        await engine.step([
          ...[0, 1].map((seq) => ({ seq, ids: [9], start: 6 + seq, sample })),
          { seq: 3, ids: prompt(19, 3), start: 0, sample },
        ]);
        expect(rt.compiled).toBe(compiled);
      } finally {
        engine.dispose();
        await setBackend('cpu');
      }
    },
  );

  it.each([
    ['a Q8_0 GGUF', 'webgpu-keep.q8_0.gguf', 'q8_0', 'Q8_0'],
    ['a bf16 Hugging Face directory', 'webgpu-keep-bf16', 'bf16', 'BF16'],
  ] as const)(
    '%s stays in its blocks on the GPU by default: greedy completions equal generate on the float32 weights',
    async (_what, file, dtype, type) => {
      const tiny = await tinyModel();
      const gguf = join(tiny.dir, file);
      await saveModel(gguf, { config: tiny.model.config, model: tiny.model, tokenizer: tiny.tokenizer, dtype });
      await setBackend('webgpu');
      const served = await loadServedModel(gguf, { id: 'tiny', maxSlots: 4 });
      const server = createServer({ load: async () => served });
      const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
      try {
        await server.loaded;
        const model = (served.engine as unknown as { model: LlamaForCausalLM }).model;
        const qProj = model.model.layers.at(0).selfAttn.qProj.blockWeight;
        expect(qProj?.type).toBe(type);
        expect(qProj?.backend).toBe(getBackend());
        // The GPU's block kernels take float32 activations: the same tokens as the file dequantized at load.
        const loaded = await loadModel(gguf, { dtype: 'f32' });
        const reference = new LlamaForCausalLM(loaded.config);
        reference.loadStateDict(loaded.tensors);
        const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
        for (const prompt of ['Once upon a time', 'Tom had']) {
          const ids = tiny.tokenizer.encode(prompt, { bos: true });
          const ref = await generateIds(reference, ids, { maxNewTokens: 8, temperature: 0, stop: served.eosIds });
          const expected = tiny.tokenizer.decode([...ids, ...ref]).slice(tiny.tokenizer.decode(ids).length);
          const r = await client.completions.create({ model: 'tiny', prompt, max_tokens: 8, temperature: 0 });
          expect(r.choices[0]!.text, prompt).toBe(expected);
        }
        reference.dispose();
      } finally {
        await server.shutdown(100);
        await setBackend('cpu');
      }
    },
  );
});
