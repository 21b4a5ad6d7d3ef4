/**
 * Test support shared by the scheduler tests (not exported from the package).
 *
 * @module
 */
import { DEFAULT_SAMPLING, type SamplingParams } from '@andes/nn';
import type { FinishReason, SequenceRequest } from '../src/scheduler.js';

/** A greedy request for `maxTokens` tokens of `prompt` (EOS never matches), the ids it receives and how it ended. */
export function greedy(prompt: number[], maxTokens: number) {
  return sampled(prompt, maxTokens, { ...DEFAULT_SAMPLING, temperature: 0 });
}

/** As {@link greedy}, with these sampling settings. */
export function sampled(prompt: number[], maxTokens: number, sampling: SamplingParams) {
  const ids: number[] = [];
  let done!: (r: FinishReason) => void;
  const reason = new Promise<FinishReason>((r) => (done = r));
  const req: SequenceRequest = {
    prompt,
    maxTokens,
    sampling,
    eosIds: [-1],
    topLogprobs: -1,
    onToken: (ev) => {
      ids.push(ev.id);
      return undefined;
    },
    onFinish: (r) => done(r),
  };
  return { req, ids, reason };
}
