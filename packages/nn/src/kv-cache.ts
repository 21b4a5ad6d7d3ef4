/**
 * `KvCache`: preallocated keys and values of every layer for `maxBatch` independent sequences ("slots"), so a
 * continuous-batching server can admit and retire sequences without reallocating.
 *
 * @module
 */

import { concat, DTYPE_BYTES, type HalfDType, keep, type Tensor, zeros } from '@andes/tensor';
import { headDim, type LlamaConfig } from './config.js';

/** Options of {@link KvCache}. */
export interface KvCacheOptions {
  /** Number of slots, i.e. sequences held at once (default 1). */
  maxBatch?: number;
  /** Positions per slot, in tokens (default `max_position_embeddings`). */
  maxSeq?: number;
  /**
   * Element type of the stored keys and values (default float32). `float16` halves the cache's memory: keys and
   * values are rounded to nearest even as they are written, and attention decodes them as it reads.
   */
  dtype?: 'float32' | HalfDType;
}

/**
 * Per layer, keys and values `[maxBatch, numKvHeads, maxSeq, headDim]` (float32, or `options.dtype`), plus the host-side number of valid
 * positions of each slot. Positions past a slot's length may hold stale values of an earlier sequence; attention
 * masks them out. Writes go through slice views and `Tensor.assign` (the backend's in-place `copyInto`).
 */
export class KvCache {
  /** Slots. */
  readonly maxBatch: number;
  /** Positions per slot. */
  readonly maxSeq: number;
  /** Number of decoder layers. */
  readonly numLayers: number;
  /** Key/value heads per layer. */
  readonly numKvHeads: number;
  /** Head size. */
  readonly headDim: number;
  /** Keys of each layer, `[maxBatch, numKvHeads, maxSeq, headDim]`. */
  readonly keys: Tensor[];
  /** Values of each layer, `[maxBatch, numKvHeads, maxSeq, headDim]`. */
  readonly values: Tensor[];
  /** Valid positions of each slot (the next position to write), in tokens. Updated by the model's forward calls. */
  readonly lengths: Int32Array;
  /** Element type of the stored keys and values. */
  readonly dtype: 'float32' | HalfDType;

  /** Allocates (zero-filled) caches for `config`'s layers. */
  constructor(config: LlamaConfig, options: KvCacheOptions = {}) {
    this.maxBatch = options.maxBatch ?? 1;
    this.maxSeq = options.maxSeq ?? config.max_position_embeddings;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch <= 0 || !Number.isInteger(this.maxSeq) || this.maxSeq <= 0) {
      throw new Error(`KvCache: maxBatch (${this.maxBatch}) and maxSeq (${this.maxSeq}) must be positive integers`);
    }
    this.numLayers = config.num_hidden_layers;
    this.numKvHeads = config.num_key_value_heads;
    this.headDim = headDim(config);
    const shape = [this.maxBatch, this.numKvHeads, this.maxSeq, this.headDim];
    this.dtype = options.dtype ?? 'float32';
    this.keys = [];
    this.values = [];
    for (let l = 0; l < this.numLayers; l++) {
      this.keys.push(keep(zeros(shape, { dtype: this.dtype })));
      this.values.push(keep(zeros(shape, { dtype: this.dtype })));
    }
    this.lengths = new Int32Array(this.maxBatch);
  }

  /** Bytes a cache of these dimensions holds on the device (keys and values of all layers). */
  static bytesFor(config: LlamaConfig, options: KvCacheOptions = {}): number {
    const slots = options.maxBatch ?? 1;
    const seq = options.maxSeq ?? config.max_position_embeddings;
    const elementBytes = DTYPE_BYTES[options.dtype ?? 'float32'];
    return 2 * elementBytes * config.num_hidden_layers * slots * config.num_key_value_heads * seq * headDim(config);
  }

  /** Bytes this cache holds on the device. */
  get bytes(): number {
    const elementBytes = DTYPE_BYTES[this.dtype];
    return 2 * elementBytes * this.numLayers * this.maxBatch * this.numKvHeads * this.maxSeq * this.headDim;
  }

  /** Throws unless `slot` is a valid slot and `[start, start+length)` fits in it. */
  checkRange(slot: number, start: number, length: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.maxBatch) {
      throw new Error(`KvCache: slot ${slot} out of range [0, ${this.maxBatch})`);
    }
    if (!Number.isInteger(start) || start < 0 || start + length > this.maxSeq) {
      throw new Error(`KvCache: positions [${start}, ${start + length}) of slot ${slot} exceed maxSeq=${this.maxSeq}`);
    }
  }

  /**
   * Writes keys and values of one slot at positions `[start, start+T)` of layer `layer`.
   *
   * @param k - `[1, numKvHeads, T, headDim]` (any strides)
   * @param v - `[1, numKvHeads, T, headDim]`
   */
  write(layer: number, slot: number, start: number, k: Tensor, v: Tensor): void {
    const length = k.shape[2] ?? 0;
    this.checkRange(slot, start, length);
    for (const [cache, src] of [
      [this.keys[layer], k],
      [this.values[layer], v],
    ] as const) {
      if (cache === undefined) throw new Error(`KvCache.write: layer ${layer} out of range [0, ${this.numLayers})`);
      const window = cache.slice(0, slot, slot + 1).slice(2, start, start + length);
      window.assign(src);
      window.dispose();
    }
  }

  /**
   * Keys and values of the given slots over positions `[0, length)`, `[slots.length, numKvHeads, length, headDim]`.
   * Consecutive slots are a zero-copy view; others are gathered with one concat (O(length) memory per slot).
   */
  read(layer: number, slots: readonly number[], length: number): { k: Tensor; v: Tensor } {
    const keys = this.keys[layer];
    const values = this.values[layer];
    if (keys === undefined || values === undefined) {
      throw new Error(`KvCache.read: layer ${layer} out of range [0, ${this.numLayers})`);
    }
    for (const slot of slots) this.checkRange(slot, 0, length);
    const first = slots[0] ?? 0;
    const consecutive = slots.every((s, i) => s === first + i);
    const pick = (cache: Tensor): Tensor => {
      if (consecutive) return cache.slice(0, first, first + slots.length).slice(2, 0, length);
      return concat(
        slots.map((s) => cache.slice(0, s, s + 1).slice(2, 0, length)),
        0,
      );
    };
    return { k: pick(keys), v: pick(values) };
  }

  /** Marks a slot empty so a new sequence can use it (values are not cleared; they are masked by length). */
  release(slot: number): void {
    this.checkRange(slot, 0, 0);
    this.lengths[slot] = 0;
  }

  /** Frees the device memory. */
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) if (!t.isDisposed) t.dispose();
  }
}
