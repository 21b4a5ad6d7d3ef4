/**
 * The contract between the scheduler and a model: one model on one device with a KV cache of `maxSlots`
 * preallocated slots × `maxContext` positions. The scheduler owns slot assignment; the engine owns the math.
 *
 * @module
 */

/** One row of a batched decode step: feed `token` at `position` of the sequence in `slot`. */
export interface DecodeRow {
  slot: number;
  token: number;
  /** 0-based position of `token` in its sequence (= number of tokens already in the slot's cache). */
  position: number;
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
  /** One batched decode step over `rows` (distinct slots). Returns logits [rows.length, vocab] row-major. */
  decode(rows: readonly DecodeRow[]): Promise<Float32Array>;
  /** Frees what the engine holds for `slot` (the slot itself is reused by the scheduler). */
  release(slot: number): void;
  /** Frees the model and cache. */
  dispose(): void;
}
