/**
 * `RMSNorm` (Zhang & Sennrich 2019), LLaMA's pre-normalisation.
 *
 * @module
 */

import { ones, rmsNorm, type Tensor } from '@andes/tensor';
import { Module, type Parameter } from './module.js';

/** y = x / sqrt(mean(x², last axis) + eps) · weight, on `[..., dim]`, with the fused kernel. Weight starts at 1. */
export class RMSNorm extends Module {
  /** `[dim]`. */
  readonly weight: Parameter;

  /**
   * @param dim - normalised width
   * @param eps - added to the mean square (LLaMA 1e-6, llama2.c 1e-5)
   */
  constructor(
    readonly dim: number,
    readonly eps = 1e-6,
  ) {
    super();
    this.weight = this.registerParameter('weight', ones([dim]));
  }

  /** `x [..., dim] → [..., dim]`. */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
