/**
 * OpenAI request fields → scheduler settings: sampling parameters, stop strings, token limits. Validation that
 * JSON schema cannot express (token ids in range, prompt within the context) lives here and throws 400s.
 *
 * @module
 */

import type { SamplingParams } from '@andes/nn';
import { badRequest } from './errors.js';

/** The sampling-related fields common to chat and legacy completions (already schema-validated). */
export interface SamplingFields {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  seed?: number | null;
  stop?: string | string[] | null;
  n?: number | null;
}

/** Sampling settings for choice `choiceIndex`; with a `seed`, each choice gets its own derived stream. */
export function samplingParams(body: SamplingFields, vocabSize: number, choiceIndex: number): SamplingParams {
  const bias = new Map<number, number>();
  for (const [key, value] of Object.entries(body.logit_bias ?? {})) {
    const id = Number(key);
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw badRequest(`logit_bias: token id ${key} is outside the vocabulary [0, ${vocabSize})`, 'logit_bias');
    }
    bias.set(id, value);
  }
  const topK = body.top_k ?? 0;
  return {
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    topK: Math.max(0, topK),
    presencePenalty: body.presence_penalty ?? 0,
    frequencyPenalty: body.frequency_penalty ?? 0,
    logitBias: bias,
    // Choice i of a seeded request uses seed + i·golden-ratio step, so choices differ but repeat exactly.
    seed: body.seed == null ? randomSeed() : (body.seed + choiceIndex * 0x9e3779b9) % 2 ** 53,
  };
}

/** A fresh seed for requests that did not ask for one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

/** Stop strings as a list (`stop` may be a string, a list of up to 4, or null). */
export function stopStrings(stop: string | string[] | null | undefined): string[] {
  if (stop == null) return [];
  return (typeof stop === 'string' ? [stop] : stop).filter((s) => s.length > 0);
}

/**
 * Tokens a choice may generate: the requested limit (default: the rest of the context), clamped so prompt plus
 * output fits the context. Throws 400 when the prompt alone does not fit.
 */
export function generationLimit(
  promptTokens: number,
  requested: number | null | undefined,
  context: number,
  param: string,
): number {
  const want = requested ?? Number.POSITIVE_INFINITY;
  const room = want > 0 ? context - 1 : context;
  if (promptTokens > room) {
    throw badRequest(
      `This model's maximum context length is ${context} tokens; the prompt has ${promptTokens} tokens` +
        (want > 0 ? ' and leaves no room to generate.' : '.'),
      param,
      'context_length_exceeded',
    );
  }
  return Math.min(want, context - promptTokens);
}
