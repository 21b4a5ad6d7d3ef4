/**
 * `Embedding`: a lookup table of token vectors.
 *
 * @module
 */

import { embedding, type Tensor } from '@andes/tensor';
import { initSeed, type ModuleInit, normalInit } from './init.js';
import { Module, type Parameter } from './module.js';

/** A table `[numEmbeddings, dim]`; `forward(ids int32 [...]) → [..., dim]`. */
export class Embedding extends Module {
  /** `[numEmbeddings, dim]`. */
  readonly weight: Parameter;

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
    this.weight = this.registerParameter(
      'weight',
      normalInit([numEmbeddings, dim], options.std ?? 0.02, initSeed(options, 'weight')),
    );
  }

  /** Rows of the table for int32 `ids [...]` → `[..., dim]`. */
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}
