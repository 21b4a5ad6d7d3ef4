/**
 * What a request handler hands the scheduler for one sequence, and what it gets back: tokens as they are drawn,
 * prompt log-probabilities, the reason the sequence ended, and a handle to cancel it.
 *
 * @module
 */
import type { SamplingParams, TokenLogprob } from '@andes/nn';

/** Why a sequence ended: `stop` (EOS or a stop string), `length` (max tokens or context), `cancelled`, `error`. */
export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error';

/** A generated token as delivered to the request handler. */
export interface TokenEvent {
  id: number;
  /** True for an end-of-sequence token: it ends the sequence and carries no text. */
  eos: boolean;
  /** Log-probability under the model (present when `topLogprobs` ≥ 0). */
  logprob?: number;
  /** The `topLogprobs` most likely alternatives. */
  top?: TokenLogprob[];
}

/** Log-probability of prompt token t+1 given tokens ≤ t (index 0 of the list is the first prompt token: null). */
export interface PromptLogprob {
  logprob: number;
  top: TokenLogprob[];
}

/** What a request handler submits: the prompt, limits, sampling and callbacks. */
export interface SequenceRequest {
  /** Prompt token ids (1 ≤ length < engine.maxContext; ≤ when `maxTokens` is 0). */
  prompt: readonly number[];
  /** Most tokens to generate; 0 only runs the prompt (for prompt log-probabilities). */
  maxTokens: number;
  sampling: SamplingParams;
  /** Token ids that end the sequence with reason `stop`. */
  eosIds: readonly number[];
  /** -1: no log-probabilities; k ≥ 0: each token's logprob plus its k best alternatives. */
  topLogprobs: number;
  /** Also compute the prompt tokens' log-probabilities (legacy `echo` + `logprobs`). */
  promptLogprobs?: boolean;
  /** Called once, before any token, when `promptLogprobs` is set: entries for prompt[1..]. */
  onPromptLogprobs?(entries: PromptLogprob[]): void;
  /** Called per generated token; return `true` to end the sequence with reason `stop` (a stop string matched). */
  onToken(ev: TokenEvent): boolean | undefined;
  /** Called exactly once at the end. */
  onFinish(reason: FinishReason, error?: Error): void;
}

/** The submitter's handle on a queued or running sequence. */
export interface SequenceHandle {
  /** Ends the sequence (reason `cancelled`) and frees its blocks at the next step. Idempotent. */
  cancel(): void;
}
