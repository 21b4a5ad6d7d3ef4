/**
 * A tiny REAL model for the serve tests: random-init LLaMA (tiny config) with a BPE tokenizer trained on a few KB of
 * text, saved with @andes/checkpoint to a temp directory and loaded back the way `andes-serve --model` does.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModelDir } from '@andes/checkpoint';
import { LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { type AndesServer, createServedModel, createServer, loadServedModel, type ServedModel } from '@andes/serve';
import { setBackend } from '@andes/tensor';
import { type Tokenizer, trainBpe } from '@andes/tokenizer';
import OpenAI from 'openai';

const STORY =
  'Once upon a time there was a little girl named Lily. She liked to play in the park with her red ball. ' +
  'One day the sun was hot and the sky was blue. Lily saw a big dog. The dog was friendly and wagged its tail. ' +
  'They played together until the moon came out. Then Lily went home, ate soup, and slept. ' +
  'Tom had a small boat. He sailed it on the pond and sang a happy song. "Look at me!" he said. ';

/** A few KB of simple English (and a little UTF-8) for the tokenizer. */
export function trainingText(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 12; i++) out.push(`${STORY} Number ${i}: café, naïve, 東京. `);
  return out;
}

/** Everything a test needs about the tiny model. */
export interface TinyModel {
  dir: string;
  model: LlamaForCausalLM;
  tokenizer: Tokenizer;
}

let cached: Promise<TinyModel> | null = null;

/** Builds (once per test file) and saves the tiny model; the CPU backend keeps tests fast and deterministic. */
export function tinyModel(): Promise<TinyModel> {
  cached ??= (async () => {
    await setBackend('cpu');
    const tokenizer = await trainBpe(trainingText(), { vocabSize: 400, specialTokens: ['<|im_start|>', '<|im_end|>'] });
    const config = llamaConfig({
      vocab_size: tokenizer.vocabSize,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 96,
      bos_token_id: tokenizer.bosId,
      eos_token_id: tokenizer.eosId,
      tie_word_embeddings: false,
    });
    const model = new LlamaForCausalLM(config, { seed: 3 });
    const dir = await mkdtemp(join(tmpdir(), 'andes-serve-test-'));
    await saveModelDir(dir, { config, model, tokenizer });
    // Name the chat template the way our tokenizer_config.json does.
    const cfgPath = join(dir, 'tokenizer_config.json');
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'));
    await writeFile(cfgPath, JSON.stringify({ ...cfg, chat_template: 'chatml' }, null, 2));
    return { dir, model, tokenizer };
  })();
  return cached;
}

/** A running server on 127.0.0.1 with an OpenAI client pointed at it. */
export interface RunningServer {
  server: AndesServer;
  served: ServedModel;
  base: string;
  client: OpenAI;
  close(): Promise<void>;
}

/** Starts a server on the tiny model's directory (loaded with `loadServedModel`, as the CLI does). */
export async function startServer(
  options: { maxSlots?: number; maxQueue?: number; apiKey?: string; bodyLimit?: number; context?: number } = {},
): Promise<RunningServer> {
  const tiny = await tinyModel();
  const served = await loadServedModel(tiny.dir, {
    id: 'tiny',
    maxSlots: options.maxSlots ?? 16,
    maxContext: options.context,
  });
  const server = createServer({
    load: async () => served,
    maxQueue: options.maxQueue,
    apiKey: options.apiKey,
    bodyLimit: options.bodyLimit,
  });
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  await server.loaded;
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: options.apiKey ?? 'none', maxRetries: 0 });
  return { server, served, base, client, close: () => server.shutdown(200) };
}

export { createServedModel };
