/**
 * `Embedding`: a lookup table of token vectors.
 *
 * @module
 */

import { type BlockWeight, blockEmbedding, embedding, type Tensor } from '@andes/tensor';
import { initSeed, type ModuleInit, normalInit } from './init.js';
import { Module, type Parameter, qualified } from './module.js';

/** A table `[numEmbeddings, dim]`; `forward(ids int32 [...]) → [..., dim]`. */
export class Embedding extends Module {
  /**
   * @param numEmbeddings - number of rows (vocabulary size)
   * @param dim - vector width
   * @param options - `std` of the normal initialisation (default 0.02), and the model `seed` and this module's
   *   `name`, which the weight's seed is derived from
   */
  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    options: ModuleInit & { std?: number } = {},
  ) {
    super();
    if (options.empty) {
      this.registerUnloadedParameter('weight', [numEmbeddings, dim], qualified(options.name, 'weight'));
    } else {
      this.registerParameter(
        'weight',
        normalInit([numEmbeddings, dim], options.std ?? 0.02, initSeed(options, 'weight')),
      );
    }
  }

  /**
   * `[numEmbeddings, dim]`.
   *
   * @throws Error naming it while unloaded (built `empty`), or once {@link Embedding.useBlockWeight} replaced it.
   */
  get weight(): Parameter {
    if (this.#block !== null) {
      throw new Error(`Embedding.weight: the float32 table was replaced by a ${this.#block.type} block weight`);
    }
    return this.parameter('weight');
  }

  /** The table in a half-float or block-quantized format after {@link Embedding.useBlockWeight}, else null. */
  get blockWeight(): BlockWeight | null {
    return this.#block;
  }

  #block: BlockWeight | null = null;

  /**
   * Replaces the float32 table by `table` (`[numEmbeddings, dim]`, e.g. a GGUF file's F16 or Q4_0 `token_embd`) for
   * inference: lookups decode only the rows asked for (`blockEmbedding`, on any backend). Takes ownership.
   *
   * @throws Error when the shapes differ.
   */
  useBlockWeight(table: BlockWeight): void {
    if (table.shape[0] !== this.numEmbeddings || table.shape[1] !== this.dim) {
      throw new Error(
        `Embedding.useBlockWeight: ${table.type} table [${table.shape.join(', ')}] does not match [${this.numEmbeddings}, ${this.dim}]`,
      );
    }
    if (this.#block === null) this.unregisterParameter('weight');
    else this.#block.dispose();
    this.#block = table;
  }

  /** Rows of the table for int32 `ids [...]` → `[..., dim]`. */
  forward(ids: Tensor): Tensor {
    return this.#block ? blockEmbedding(this.#block, ids) : embedding(this.weight, ids);
  }

  /** Frees the table (float32 or blocks). */
  override dispose(): void {
    super.dispose();
    this.#block?.dispose();
    this.#block = null;
  }
}
