/**
 * `Embedding`: a lookup table of token vectors.
 *
 * @module
 */

import { embedding, type Tensor } from '@andes/tensor';
import { normalInit } from './init.js';
import { Module, type Parameter } from './module.js';

/** A table `[numEmbeddings, dim]`; `forward(ids int32 [...]) → [..., dim]`. */
export class Embedding extends Module {
  /** `[numEmbeddings, dim]`. */
  readonly weight: Parameter;

  /**
   * @param numEmbeddings - number of rows (vocabulary size)
   * @param dim - vector width
   * @param options - `std` of the normal initialisation (default 0.02) and its `seed` (default 0)
   */
  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    options: { std?: number; seed?: number } = {},
  ) {
    super();
    this.weight = this.registerParameter(
      'weight',
      normalInit([numEmbeddings, dim], options.std ?? 0.02, options.seed ?? 0),
    );
  }

  /** Rows of the table for int32 `ids [...]` → `[..., dim]`. */
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}
