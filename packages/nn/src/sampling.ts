/**
 * The one host sampler (llama2.c keeps a single Sampler too): `generate` and andes-serve draw every token through it.
 * It keeps what a sequence's choices depend on besides the logits: the settings, the seeded per-sequence generator
 * and the generated-token counts the penalties need. The choice itself is `sampleTokenRow` of @andes/tensor, the
 * host reference of the `sampleTokens` op: {@link Sampler.draw} hands the op the same settings and uniform draw, so a
 * decode step may pick on the device and read back only ids, and get the same tokens.
 *
 * Order, as in the OpenAI API and llama.cpp: bias, repetition factor and presence / frequency penalties change the
 * logits; temperature 0 is greedy argmax (first maximum, as `argmax` in @andes/tensor); otherwise the top-k by logit
 * (ties: lowest ids), then the smallest most-likely set holding top-p of their softmax mass at the temperature, then
 * one uniform draw over the kept tokens in id order.
 *
 * @module
 */
import { mixSeed, SeededRandom, sampleTokenRow, type TokenSampling } from '@andes/tensor';

export { logSumExp, topKIndices } from '@andes/tensor';

import { logSumExp, topKIndices } from '@andes/tensor';

/** Sampling settings, all given (OpenAI names, `top_k` as an extension); {@link SamplingOptions} is the partial form. */
export interface SamplingParams {
  /** 0 means greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]. */
  topP: number;
  /** Keep only the k most likely tokens; 0 disables. */
  topK: number;
  /** Subtracted once from every token already generated (OpenAI `presence_penalty`, -2..2). */
  presencePenalty: number;
  /** Subtracted per occurrence of a token already generated (OpenAI `frequency_penalty`, -2..2). */
  frequencyPenalty: number;
  /** Added to the logit of each token id (OpenAI `logit_bias`, -100..100). */
  logitBias: ReadonlyMap<number, number>;
  /** llama.cpp's repetition penalty (> 0, 1 = off): a generated token's positive logit is divided by it, others multiplied. */
  repetitionPenalty?: number;
  /** Seed of this sequence's generator: any finite number; its integer part (mod 2^53) selects the stream. */
  seed: number;
}

/** Sampling settings where every field is optional (defaults: {@link DEFAULT_SAMPLING}). */
export type SamplingOptions = Partial<SamplingParams>;

/** Default settings: plain sampling at temperature 1. */
export const DEFAULT_SAMPLING: SamplingParams = {
  temperature: 1,
  topP: 1,
  topK: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  logitBias: new Map(),
  seed: 0,
};

/** One alternative token with its log-probability (natural log). */
export interface TokenLogprob {
  id: number;
  logprob: number;
}

/** The settings with defaults filled in, checked. @throws Error naming the first invalid setting. */
function resolveParams(options: SamplingOptions): SamplingParams {
  const d = DEFAULT_SAMPLING;
  // Only the sampling fields: callers may pass a wider options object (generate's, a request's).
  const p: SamplingParams = {
    temperature: options.temperature ?? d.temperature,
    topP: options.topP ?? d.topP,
    topK: options.topK ?? d.topK,
    presencePenalty: options.presencePenalty ?? d.presencePenalty,
    frequencyPenalty: options.frequencyPenalty ?? d.frequencyPenalty,
    logitBias: options.logitBias ?? d.logitBias,
    repetitionPenalty: options.repetitionPenalty ?? 1,
    seed: options.seed ?? d.seed,
  };
  if (!(p.temperature >= 0 && Number.isFinite(p.temperature))) {
    throw new Error(`Sampler: temperature must be a finite number >= 0, got ${p.temperature}`);
  }
  if (!Number.isInteger(p.topK) || p.topK < 0) throw new Error(`Sampler: topK must be an integer >= 0, got ${p.topK}`);
  if (!(p.topP > 0 && p.topP <= 1)) throw new Error(`Sampler: topP must lie in (0, 1], got ${p.topP}`);
  for (const key of ['presencePenalty', 'frequencyPenalty'] as const) {
    if (!Number.isFinite(p[key])) throw new Error(`Sampler: ${key} must be a finite number, got ${p[key]}`);
  }
  if (!((p.repetitionPenalty ?? 1) > 0 && Number.isFinite(p.repetitionPenalty))) {
    throw new Error(`Sampler: repetitionPenalty must be a finite number > 0, got ${p.repetitionPenalty}`);
  }
  for (const [id, bias] of p.logitBias) {
    if (!Number.isFinite(bias)) throw new Error(`Sampler: logitBias of token ${id} must be finite, got ${bias}`);
  }
  if (!Number.isFinite(p.seed)) throw new Error(`Sampler: seed must be a finite number, got ${p.seed}`);
  return p;
}

/** A 32-bit generator seed from any finite seed: the low and high words of its integer part (mod 2^53), mixed. */
function generatorSeed(seed: number): number {
  const n = Math.trunc(seed) % 2 ** 53;
  return mixSeed(n >>> 0, Math.floor(n / 2 ** 32));
}

/** Samples tokens for one sequence; keeps the generated-token counts that the penalties need. */
export class Sampler {
  /** The settings, defaults filled in. */
  readonly params: SamplingParams;
  private readonly rng: SeededRandom;
  private readonly counts = new Map<number, number>();

  /**
   * `options.seed` seeds this sampler's own generator, so a sequence's draws depend only on its seed and logits.
   *
   * @throws Error naming the setting when one is out of range (negative temperature, topP outside (0, 1], …).
   */
  constructor(options: SamplingOptions = {}) {
    this.params = resolveParams(options);
    this.rng = new SeededRandom(generatorSeed(this.params.seed));
  }

  /**
   * Whether the next choice is the raw logits' first maximum (temperature 0, no bias, no penalty that has taken
   * effect), so a caller may take it on the device and read back one id instead of the whole row.
   */
  isPlainGreedy(): boolean {
    const p = this.params;
    const penalized =
      (p.presencePenalty !== 0 || p.frequencyPenalty !== 0 || (p.repetitionPenalty ?? 1) !== 1) && this.counts.size > 0;
    return p.temperature === 0 && p.logitBias.size === 0 && !penalized;
  }

  /** Records a generated token so later penalties see it. */
  observe(id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /**
   * The next choice's settings for `sampleTokens` (or `sampleTokenRow`), taking this sequence's next uniform draw
   * (none at temperature 0, so greedy sequences leave the generator untouched). Each call consumes a draw: call it
   * once per token. The counts are this sampler's live map: pack them (call the op) before the next `observe`.
   */
  draw(): TokenSampling {
    const p = this.params;
    return {
      temperature: p.temperature,
      topK: p.topK,
      topP: p.topP,
      uniform: p.temperature > 0 ? this.rng.next() : 0,
      logitBias: p.logitBias,
      counts: this.counts,
      presencePenalty: p.presencePenalty,
      frequencyPenalty: p.frequencyPenalty,
      repetitionPenalty: p.repetitionPenalty ?? 1,
    };
  }

  /** Chooses the next token from `logits` ([vocab] floats, not modified) on the host. Does not call `observe`. */
  sample(logits: Float32Array): number {
    if (logits.length === 0) throw new Error('Sampler.sample: empty logits');
    return sampleTokenRow(logits, this.draw());
  }
}

/** Index of the first maximum of `x`. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  let bv = x[0]!;
  for (let i = 1; i < x.length; i++) {
    if (x[i]! > bv) {
      bv = x[i]!;
      best = i;
    }
  }
  return best;
}

/**
 * Log-probabilities under the model's own distribution (log-softmax of raw `logits`, before bias, penalties and
 * temperature): the chosen token's and the `top` most likely alternatives'.
 */
export function tokenLogprobs(
  logits: Float32Array,
  chosen: number,
  top: number,
): { logprob: number; top: TokenLogprob[] } {
  const lse = logSumExp(logits);
  const alts = top > 0 ? Array.from(topKIndices(logits, top), (id) => ({ id, logprob: logits[id]! - lse })) : [];
  return { logprob: logits[chosen]! - lse, top: alts };
}
