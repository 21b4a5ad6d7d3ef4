/**
 * The playground's built-in model: an *untrained* `nano` LLaMA (random weights from a fixed seed) with a BPE
 * tokenizer trained on the built-in synthetic stories. Everything is derived from seeds in a fraction of a second, so
 * nothing is downloaded and Node rebuilds the very same model (the browser tests compare greedy output with Node's).
 * Its text is gibberish on purpose and the page says so: train one in the Train tab, or open a model directory.
 *
 * @module
 */
import { syntheticStories } from '@andes/data';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { type SentencePieceTokenizer, trainBpe } from '@andes/tokenizer';

/** The seeds and sizes the built-in model is derived from. */
export const builtinSpec = { seed: 0, stories: 120, vocabSize: 512, preset: 'nano' } as const;

/** The built-in tokenizer: BPE (byte fallback, split digits, as LLaMA) over the first synthetic stories. */
export async function builtinTokenizer(): Promise<SentencePieceTokenizer> {
  const texts: string[] = [];
  for (const story of syntheticStories(builtinSpec.seed)) {
    texts.push(story);
    if (texts.length === builtinSpec.stories) break;
  }
  return trainBpe(texts, {
    vocabSize: builtinSpec.vocabSize,
    byteFallback: true,
    splitDigits: true,
    specialTokens: [],
  });
}

/** A fresh `nano` model for `tokenizer`, initialised from `seed` (same seed → same weights on every backend). */
export function nanoModel(tokenizer: { vocabSize: number }, seed: number = builtinSpec.seed): LlamaForCausalLM {
  const config = llamaPreset(builtinSpec.preset, { vocab_size: tokenizer.vocabSize });
  return new LlamaForCausalLM(config, { seed });
}
