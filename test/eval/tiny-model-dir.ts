/**
 * Test fixture: a tiny random LLaMA saved as a model directory with a BPE tokenizer trained on a few KB of the
 * synthetic story corpus, so evaluation tests need neither `npm start` nor network.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModelDir } from '@andes/checkpoint';
import { syntheticStory } from '@andes/data';
import { LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { zeros } from '@andes/tensor';
import { trainBpe } from '@andes/tokenizer';

/** Options of {@link tinyModelDir}. */
export interface TinyModelOptions {
  seed?: number;
  /** Zero the output projection: every position predicts the uniform distribution. */
  uniform?: boolean;
  maxPositions?: number;
}

let tokenizerCache: Awaited<ReturnType<typeof trainTokenizer>> | undefined;

async function trainTokenizer() {
  const texts = Array.from({ length: 8 }, (_, i) => syntheticStory(7, i)); // ~8 KB
  return await trainBpe(texts, { vocabSize: 320, byteFallback: true, splitDigits: true, specialTokens: [] });
}

/** Builds and saves a tiny model (random init, seeded) with a trained tokenizer; returns its directory. */
export async function tinyModelDir(options: TinyModelOptions = {}): Promise<string> {
  tokenizerCache ??= await trainTokenizer();
  const tokenizer = tokenizerCache;
  const config = llamaConfig({
    vocab_size: tokenizer.vocabSize,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: options.maxPositions ?? 64,
    initializer_range: 0.3,
    bos_token_id: tokenizer.bosId,
    eos_token_id: tokenizer.eosId,
  });
  const model = new LlamaForCausalLM(config, { seed: options.seed ?? 1 });
  if (options.uniform) model.lmHead!.weight.assign(zeros([config.vocab_size, config.hidden_size]));
  const dir = join(mkdtempSync(join(tmpdir(), 'andes-eval-model-')), 'model');
  await saveModelDir(dir, { config, model, tokenizer });
  model.dispose();
  return dir;
}
