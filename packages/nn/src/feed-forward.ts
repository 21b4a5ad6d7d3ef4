/**
 * LLaMA's SwiGLU feed-forward (Shazeer 2020): down(silu(gate(x)) ⊙ up(x)).
 *
 * @module
 */

import { swiglu, type Tensor } from '@andes/tensor';
import { childInit, type ModuleInit } from './init.js';
import { forwardMany, Linear } from './linear.js';
import { Module } from './module.js';

/** Options of {@link LlamaMLP}: initialisation scales, and the model seed and this module's name (e.g. `model.layers.0.mlp`). */
export interface LlamaMLPOptions extends ModuleInit {
  /** std of gate_proj and up_proj (default 0.02). */
  std?: number;
  /** std of down_proj, a residual projection (default 0.02 / sqrt(2·layers) when built by the model). */
  residualStd?: number;
}

/** `[..., dim] → [..., dim]` through a gated hidden layer of width `hidden`; parameters `{gate,up,down}_proj.weight`. */
export class LlamaMLP extends Module {
  /** `[hidden, dim]`. */
  readonly gateProj: Linear;
  /** `[hidden, dim]`. */
  readonly upProj: Linear;
  /** `[dim, hidden]`. */
  readonly downProj: Linear;

  /**
   * @param dim - model width
   * @param hidden - gated hidden width (`intermediate_size`)
   */
  constructor(dim: number, hidden: number, options: LlamaMLPOptions = {}) {
    super();
    const std = options.std ?? 0.02;
    this.gateProj = this.registerModule(
      'gate_proj',
      new Linear(dim, hidden, { std, ...childInit(options, 'gate_proj') }),
    );
    this.upProj = this.registerModule('up_proj', new Linear(dim, hidden, { std, ...childInit(options, 'up_proj') }));
    this.downProj = this.registerModule(
      'down_proj',
      new Linear(hidden, dim, { std: options.residualStd ?? std, ...childInit(options, 'down_proj') }),
    );
  }

  /** `x [..., dim] → [..., dim]`. */
  forward(x: Tensor): Tensor {
    return this.downProj.forward(this.#gated(x));
  }

  /** `residual + forward(x)`, with the add fused into down_proj's product (see `Linear.forwardResidual`). */
  forwardResidual(x: Tensor, residual: Tensor): Tensor {
    return this.downProj.forwardResidual(this.#gated(x), residual);
  }

  #gated(x: Tensor): Tensor {
    // gate and up as one grouped product; swiglu fuses silu and the product (one WebGPU dispatch forward and one
    // backward instead of two and five).
    const [gate, up] = forwardMany([this.gateProj, this.upProj], x) as [Tensor, Tensor];
    return swiglu(gate, up);
  }
}
