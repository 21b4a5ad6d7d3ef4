/**
 * Autoregressive generation with a `KvCache`: prefill the prompt once, then one cached decoding step per token.
 * Each step samples on the device (`sampleTokens` with the sequence's `Sampler` settings and draw) and reads back
 * one token id.
 *
 * @module
 */

import { sampleTokens, type Tensor } from '@andes/tensor';
import { KvCache } from './kv-cache.js';
import type { LlamaForCausalLM } from './llama.js';
import { Sampler, type SamplingOptions } from './sampling.js';

/** Options of {@link generate}: the {@link Sampler}'s settings (seed default 0) and when to stop. */
export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most. */
  maxNewTokens: number;
  /**
   * When to stop: token ids that end generation (not yielded), or a callback given the new token and all generated
   * ids so far (including it) that returns true to stop after yielding it. Default: `[config.eos_token_id]`.
   */
  stop?: readonly number[] | ((token: number, generated: readonly number[]) => boolean);
  /** Reuse a cache (slot 0 is used and overwritten); by default one of `prompt + maxNewTokens` positions is made. */
  cache?: KvCache;
}

/** The next token from the last position's logits ([V] or [1, V], disposed here): chosen on the device. */
async function pick(logits: Tensor, sampler: Sampler): Promise<number> {
  const V = logits.shape[logits.shape.length - 1]!;
  const row = logits.reshape([1, V]);
  try {
    const { ids } = sampleTokens(row, [sampler.draw()]);
    try {
      return (await ids.data())[0] as number;
    } finally {
      ids.dispose();
    }
  } finally {
    row.dispose();
    logits.dispose();
  }
}

/**
 * Generates token ids after `prompt` (ids, at least one), yielding each as soon as it is chosen.
 *
 * @example
 * ```ts
 * for await (const id of generate(model, tokenizer.encode('Once upon a time'), { maxNewTokens: 64, temperature: 0.8, topP: 0.9 })) {
 *   process.stdout.write(tokenizer.decode([id]));
 * }
 * ```
 */
export async function* generate(
  model: LlamaForCausalLM,
  prompt: ArrayLike<number>,
  options: GenerateOptions,
): AsyncGenerator<number, void, undefined> {
  if (prompt.length === 0) throw new Error('generate: the prompt needs at least one token (e.g. BOS)');
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) {
    throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${options.maxNewTokens}`);
  }
  if (options.maxNewTokens === 0) return;
  const sampler = new Sampler(options); // first: invalid settings throw before any cache is allocated
  const ownCache = options.cache === undefined;
  const cache =
    options.cache ?? new KvCache(model.config, { maxBatch: 1, maxSeq: prompt.length + options.maxNewTokens });
  const stop = options.stop ?? [model.config.eos_token_id];
  const generated: number[] = [];
  try {
    cache.release(0);
    let logits = model.prefill(prompt, { cache, slot: 0 });
    for (;;) {
      const token = await pick(logits, sampler);
      sampler.observe(token);
      if (typeof stop !== 'function' && stop.includes(token)) return;
      generated.push(token);
      yield token;
      if (typeof stop === 'function' && stop(token, generated)) return;
      if (generated.length >= options.maxNewTokens) return;
      logits = model.forwardBatch([token], { cache, slots: [0] });
    }
  } finally {
    if (ownCache) cache.dispose();
  }
}

/** Like {@link generate}, but resolves to all generated ids at once. */
export async function generateIds(
  model: LlamaForCausalLM,
  prompt: ArrayLike<number>,
  options: GenerateOptions,
): Promise<number[]> {
  const out: number[] = [];
  for await (const id of generate(model, prompt, options)) out.push(id);
  return out;
}
