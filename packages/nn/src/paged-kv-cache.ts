/**
 * `PagedKvCache`: keys and values of every layer in one pool of fixed-size blocks per layer
 * (`[numBlocks, blockSize, numKvHeads, headDim]`), shared by all sequences through a {@link KvBlockPool} (block
 * tables, reference counts, prefix cache). Memory is taken per block as sequences grow rather than per slot of
 * `maxSeq` positions, and a step writes new keys/values straight into their blocks (no copies of the cache). The
 * contiguous {@link KvCache} stays for `generate`, scoring and tests. Keys/values are float32, or float16 / bfloat16
 * (`options.dtype`): half the memory per position, so twice the blocks in the same bytes; new keys/values are rounded
 * to nearest even as they are written, and attention reads the pools' values in float32.
 *
 * @module
 */

import { copyRows, DTYPE_BYTES, type HalfDType, keep, noGrad, type Tensor, tidy, zeros } from '@andes/tensor';
import { headDim, type LlamaConfig } from './config.js';
import { type BlockCopy, KvBlockPool } from './kv-block-pool.js';

/** Options of {@link PagedKvCache}. */
export interface PagedKvCacheOptions {
  /** Blocks in the pool (every layer has this many). */
  numBlocks: number;
  /** Positions per block (default 16). */
  blockSize?: number;
  /** Element type of the stored keys and values (default float32); a half type halves the bytes per block. */
  dtype?: 'float32' | HalfDType;
}

/**
 * Per layer, a key pool and a value pool `[numBlocks, blockSize, numKvHeads, headDim]` (float32 or `options.dtype`),
 * and the pool's bookkeeping.
 */
export class PagedKvCache {
  /** Block tables, reference counts and the prefix cache. */
  readonly pool: KvBlockPool;
  /** Number of decoder layers. */
  readonly numLayers: number;
  /** Key/value heads per layer. */
  readonly numKvHeads: number;
  /** Head size. */
  readonly headDim: number;
  /** Element type of the keys and values. */
  readonly dtype: 'float32' | HalfDType;
  /** Keys of each layer, `[numBlocks, blockSize, numKvHeads, headDim]`. */
  readonly keys: Tensor[] = [];
  /** Values of each layer, `[numBlocks, blockSize, numKvHeads, headDim]`. */
  readonly values: Tensor[] = [];

  /** Allocates (zero-filled) pools for `config`'s layers. */
  constructor(
    private readonly config: LlamaConfig,
    options: PagedKvCacheOptions,
  ) {
    this.pool = new KvBlockPool(options.numBlocks, options.blockSize ?? 16);
    this.numLayers = config.num_hidden_layers;
    this.numKvHeads = config.num_key_value_heads;
    this.headDim = headDim(config);
    this.dtype = options.dtype ?? 'float32';
    // A half pool's partial-block copies move whole 4-byte words on WebGPU: its rows (all kv heads of a position) must
    // be an even number of elements. Checked here, on every backend, rather than at the first shared prefix.
    if (this.dtype !== 'float32' && (this.numKvHeads * this.headDim) % 2 !== 0) {
      throw new Error(
        `PagedKvCache: a ${this.dtype} cache needs an even num_key_value_heads × head_dim, got ` +
          `${this.numKvHeads} × ${this.headDim}; use a float32 cache`,
      );
    }
    const shape = [this.pool.numBlocks, this.pool.blockSize, this.numKvHeads, this.headDim];
    for (let l = 0; l < this.numLayers; l++) {
      this.keys.push(keep(zeros(shape, { dtype: this.dtype })));
      this.values.push(keep(zeros(shape, { dtype: this.dtype })));
    }
  }

  /**
   * Runs the pool's pending partial-block copies (see {@link KvBlockPool.takeCopies}); `forwardPaged` calls it first,
   * so the copies precede every write of that forward on the device queue.
   */
  runPendingCopies(): void {
    const copies = this.pool.takeCopies();
    if (copies.length > 0) this.copyPositions(copies);
  }

  /**
   * For each copy, the keys and values of positions [0, positions) of block `source` into the same positions of block
   * `destination`, in every layer: one in-place `copyRows` per layer and pool carrying every copy (range copies, no
   * dispatch; each copy reads the pool as it was before any of them wrote, so a block may be both a destination and a
   * later copy's source).
   */
  copyPositions(copies: readonly BlockCopy[]): void {
    const { blockSize: bs, numBlocks } = this.pool;
    const from: number[] = [];
    const to: number[] = [];
    copies.forEach((c, i) => {
      const ok = (b: number) => Number.isInteger(b) && b >= 0 && b < numBlocks;
      if (
        !ok(c.source) ||
        !ok(c.destination) ||
        c.source === c.destination ||
        !(c.positions >= 1 && c.positions <= bs)
      ) {
        throw new Error(
          `PagedKvCache.copyPositions: copy ${i} (sequence ${c.seq}) of ${c.positions} positions from block ` +
            `${c.source} to ${c.destination} does not fit a pool of ${numBlocks} blocks of ${bs}`,
        );
      }
      for (let p = 0; p < c.positions; p++) {
        from.push(c.source * bs + p);
        to.push(c.destination * bs + p);
      }
    });
    const rows = [numBlocks * bs, this.numKvHeads * this.headDim];
    noGrad(() =>
      tidy(() => {
        for (const pool of [...this.keys, ...this.values]) copyRows(pool.reshape(rows), from, to);
      }),
    );
  }

  /** Bytes one block takes on the device (keys and values of all layers, of `dtype`, default float32). */
  static bytesPerBlock(config: LlamaConfig, blockSize = 16, dtype: 'float32' | HalfDType = 'float32'): number {
    const elements = 2 * config.num_hidden_layers * blockSize * config.num_key_value_heads * headDim(config);
    return elements * DTYPE_BYTES[dtype];
  }

  /** Bytes this cache holds on the device. */
  get bytes(): number {
    return this.pool.numBlocks * PagedKvCache.bytesPerBlock(this.config, this.pool.blockSize, this.dtype);
  }

  /** Frees the device memory. */
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) if (!t.isDisposed) t.dispose();
  }
}
