/**
 * `Linear`: y = x · Wᵀ (+ b), with PyTorch's weight layout `[out, in]`.
 *
 * @module
 */

import { linear, type Tensor, zeros } from '@andes/tensor';
import { initSeed, type ModuleInit, normalInit } from './init.js';
import { Module, type Parameter } from './module.js';

/** Options of {@link Linear}: bias, std, and where its weight's seed comes from (model seed and this module's name). */
export interface LinearOptions extends ModuleInit {
  /** Add a bias vector (default false: LLaMA has none). */
  bias?: boolean;
  /** Standard deviation of the normal initialisation of the weight (default 0.02). Biases start at 0. */
  std?: number;
}

/** A fully connected layer: `[..., in] → [..., out]`, weight `[out, in]` as in PyTorch and Hugging Face. */
export class Linear extends Module {
  /** `[outFeatures, inFeatures]`. */
  readonly weight: Parameter;
  /** `[outFeatures]`, or null without bias. */
  readonly bias: Parameter | null;

  /**
   * @param inFeatures - input width
   * @param outFeatures - output width
   */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    this.weight = this.registerParameter(
      'weight',
      normalInit([outFeatures, inFeatures], options.std ?? 0.02, initSeed(options, 'weight')),
    );
    this.bias = options.bias ? this.registerParameter('bias', zeros([outFeatures])) : null;
  }

  /** `x [..., in] → [..., out]`; multiplies by a transposed view of the weight (no copy). */
  forward(x: Tensor): Tensor {
    if (x.shape[x.shape.length - 1] !== this.inFeatures) {
      throw new Error(`Linear.forward: input [${x.shape.join(', ')}] does not end in inFeatures=${this.inFeatures}`);
    }
    // linear folds the leading axes into rows: one [N, in] · [in, out] product, one GEMM per operand in backward.
    return linear(x, this.weight, this.bias);
  }
}
