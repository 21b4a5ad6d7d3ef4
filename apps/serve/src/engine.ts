/**
 * The contract between the scheduler and a model: one model on one device with a KV cache of `maxSlots`
 * preallocated slots × `maxContext` positions. The scheduler owns slot assignment; the engine owns the math.
 *
 * @module
 */
import type { TokenSampling } from '@andes/tensor';

/** One row of a batched decode step: feed `token` at `position` of the sequence in `slot`. */
export interface DecodeRow {
  slot: number;
  token: number;
  /** 0-based position of `token` in its sequence (= number of tokens already in the slot's cache). */
  position: number;
}

/** A token chosen on the device, with its log-probabilities when they were asked for. */
export interface SampledRow {
  id: number;
  /** Log-probability of `id` under the raw logits. */
  logprob?: number;
  /** The most likely tokens, best first (as many as the batch's largest request). */
  top?: { id: number; logprob: number }[];
}

/** One sequence's chunk of a batched prefill: `ids` at positions `start…` of `slot`. */
export interface PrefillRequest {
  /** KV-cache slot of the sequence (distinct within one call). */
  slot: number;
  /** Token ids of the chunk (≥ 1). */
  ids: readonly number[];
  /** Position of the first id; 0 begins a new sequence in the slot. */
  start: number;
  /** Logits of every position of the chunk instead of only the last. */
  allLogits?: boolean;
}

/** A model that can prefill prompts into KV-cache slots and decode many slots in one batched step. */
export interface Engine {
  /** Logits per position. */
  readonly vocabSize: number;
  /** KV-cache slots, the largest decode batch. */
  readonly maxSlots: number;
  /** Positions per slot: prompt plus generated tokens never exceed this. */
  readonly maxContext: number;
  /**
   * Runs `ids` through the model at positions `start…start+ids.length-1` of `slot` as one batched forward
   * (`start` 0, the default, begins a new sequence and overwrites whatever the slot held; a later `start` extends
   * it, for chunked prefill). Returns the logits of the last position ([vocab]) or, with `allLogits`, of every
   * position ([ids.length, vocab] row-major).
   */
  prefill(slot: number, ids: readonly number[], opts?: { start?: number; allLogits?: boolean }): Promise<Float32Array>;
  /**
   * Optional: several sequences' chunks (distinct slots) in one forward, so arrivals at one token boundary share a
   * pass over the weights. Returns, per request in order, what `prefill` of that chunk alone returns.
   */
  prefillMany?(requests: readonly PrefillRequest[]): Promise<Float32Array[]>;
  /**
   * Optional (prefix caching): copies positions `[0, length)` of every layer's keys and values from slot `from` to
   * slot `to`, so a sequence sharing that prefix starts its prefill at `length`.
   */
  copyPrefix?(from: number, to: number, length: number): void;
  /** One batched decode step over `rows` (distinct slots). Returns logits [rows.length, vocab] row-major. */
  decode(rows: readonly DecodeRow[]): Promise<Float32Array>;
  /**
   * Optional: one batched decode step that also chooses each row's token on the device (`draws[i]`: row i's sampler
   * settings and uniform draw), so only ids (and log-probabilities when `topLogprobs` ≥ 0) come back.
   */
  decodeSampled?(
    rows: readonly DecodeRow[],
    draws: readonly TokenSampling[],
    topLogprobs: number,
  ): Promise<SampledRow[]>;
  /** Frees what the engine holds for `slot` (the slot itself is reused by the scheduler). */
  release(slot: number): void;
  /** Frees the model and cache. */
  dispose(): void;
}
