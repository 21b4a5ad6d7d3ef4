/**
 * The contract between the scheduler and a model: one model on one device with a paged KV cache (a pool of
 * fixed-size blocks shared by all sequences, see @andes/nn's `KvBlockPool`). The scheduler decides which sequences
 * run and reserves their blocks; the engine owns the math: one `step` runs every chunk of a token boundary —
 * decodes and prefill chunks of many sequences — in one forward — and draws the next token of every chunk that asks
 * on the device, so a step reads back only ids (and log-probabilities when asked) instead of logits rows.
 *
 * @module
 */
import type { TokenSampling } from '@andes/tensor';

/** One sequence's part of a step: `ids` at positions `start…` of sequence `seq`. */
export interface StepChunk {
  /** Sequence id (distinct within one step). */
  seq: number;
  /** Token ids (≥ 1): one for a decode, several for a prefill chunk. */
  ids: readonly number[];
  /** Position of the first id: the number of positions the sequence already holds. */
  start: number;
  /** Logits of every position of the chunk instead of only the last. */
  allLogits?: boolean;
  /**
   * Draw the token after the chunk's last position on the device with these settings (the sampler's `draw()`):
   * the result then carries `token` and, unless `allLogits`, no logits.
   */
  sample?: TokenSampling;
  /** With `sample`: -1 no log-probabilities; k ≥ 0 the token's log-probability and its k best alternatives. */
  topLogprobs?: number;
  /** Nothing comes back for this chunk (a prompt chunk before the last): its logits are not read back. */
  skipLogits?: boolean;
}

/** A token chosen on the device, with its log-probabilities when they were asked for. */
export interface SampledRow {
  id: number;
  /** Log-probability of `id` under the raw logits (when the chunk's `topLogprobs` ≥ 0). */
  logprob?: number;
  /** The chunk's `topLogprobs` most likely tokens, best first. */
  top?: { id: number; logprob: number }[];
}

/** What a step returns for one chunk. */
export interface StepResult {
  /**
   * Logits of the chunk's last position ([vocab]) when it has no `sample` (nor `skipLogits`), or of every position
   * ([ids.length, vocab] row-major) with `allLogits`; absent for a sampled or skipped chunk without `allLogits`.
   */
  logits?: Float32Array;
  /** The token drawn on the device (chunks with `sample`). */
  token?: SampledRow;
}

/** The block bookkeeping the scheduler reads and drives (implemented by @andes/nn's `KvBlockPool`). */
export interface KvBlocks {
  /** Blocks in the pool. */
  readonly numBlocks: number;
  /** Positions per block. */
  readonly blockSize: number;
  /** Blocks no sequence holds (empty, or holding an evictable cached prefix). */
  readonly freeBlocks: number;
  /** Blocks held by running sequences. */
  readonly usedBlocks: number;
  /** Free blocks still holding a cached prefix. */
  readonly cachedBlocks: number;
  /**
   * Free blocks a new sequence can take (default: `freeBlocks`); a sharded engine answers for the shard the next
   * sequence opens on.
   */
  admissionFreeBlocks?(): number;
  /** Blocks needed for `positions` positions. */
  blocksFor(positions: number): number;
  /**
   * Positions of `tokens` a new sequence would reuse from the prefix cache (≤ `maxTokens`): cached full blocks, and
   * the start of a partly matching cached block that it would copy.
   */
  lookupPrefix(tokens: readonly number[], maxTokens?: number): { tokens: number };
  /** New blocks a sequence starting with `tokens` needs for `positions` positions, after sharing cached prefix blocks. */
  blocksToAdmit(tokens: readonly number[], positions: number, maxReuse?: number): number;
  /**
   * Opens a sequence, sharing cached full prefix blocks of `tokens` and copying the start of a partly matching one
   * (≤ `maxReuse` positions in all; the engine runs the copy before its next forward); returns positions reused.
   */
  open(id: number, tokens?: readonly number[], maxReuse?: number): number;
  /** Whether sequence `id` is open. */
  has(id: number): boolean;
  /** Reserves blocks so sequence `id` holds `positions` positions; false (nothing taken) when blocks are short. */
  grow(id: number, positions: number): boolean;
  /** Positions of sequence `id` already computed. */
  length(id: number): number;
  /** Closes sequence `id`, freeing its blocks (shared ones when their last user leaves). */
  close(id: number): void;
}

/** A model that runs chunks of many sequences over a paged KV cache, one forward per step. */
export interface Engine {
  /** Logits per position. */
  readonly vocabSize: number;
  /** The most sequences in one step (the largest batch). */
  readonly maxSlots: number;
  /** Positions per sequence: prompt plus generated tokens never exceed this. */
  readonly maxContext: number;
  /** The KV cache's blocks: at least enough for one sequence of `maxContext` positions. */
  readonly blocks: KvBlocks;
  /**
   * Steps run off this thread (an engine worker): the scheduler then starts the next step before it delivers the
   * tokens of the last one, so the model does not wait while this thread writes them to clients. Absent or false:
   * a step occupies this thread, and tokens are delivered first.
   */
  readonly stepsOffThread?: boolean;
  /**
   * Runs every chunk (distinct sequences) in one forward, writing their keys/values into their blocks. A sequence
   * not yet open is opened; blocks a chunk lacks are reserved (throws, naming the sequence, when the pool is short:
   * the scheduler reserves first). Returns, per chunk in order, its drawn token (chunks with `sample`) and/or logits
   * (see {@link StepResult}): only those come back from the device.
   */
  step(chunks: readonly StepChunk[]): Promise<StepResult[]>;
  /**
   * Runs `chunks` (prompts of sequences that are not in the running step) in a forward of their own between two
   * layers of the step that is running, and resolves with their results as `step` would, usually long before that
   * step returns: a new prompt's first token then waits for one layer of the running batch, not for all of it.
   * Only while a step is running; several may be outstanding (they run in order). Absent where the engine cannot (a
   * step that holds this thread, several workers).
   */
  cutIn?(chunks: readonly StepChunk[]): Promise<StepResult[]>;
  /** Closes a sequence and frees its blocks (no-op when it is not open). */
  release(seq: number): void;
  /** Frees the model's cache. */
  dispose(): void;
}
