/**
 * One pre-norm LLaMA decoder block: h = x + attn(norm(x)); out = h + mlp(norm(h)).
 *
 * @module
 */

import { addRmsNorm, type Tensor } from '@andes/tensor';
import { type AttentionCacheSlot, type DecodeStep, LlamaAttention } from './attention.js';
import type { LlamaConfig } from './config.js';
import { LlamaMLP } from './feed-forward.js';
import { Module } from './module.js';
import { RMSNorm } from './rms-norm.js';

/** Seeds and scales of one block's weights. */
export interface DecoderLayerInit {
  /** std of the non-residual projections. */
  std: number;
  /** std of o_proj and down_proj. */
  residualStd: number;
  /** Seed for a parameter, from its name relative to the block (e.g. `self_attn.q_proj.weight`). */
  seedOf: (relativeName: string) => number;
}

/** A pre-norm decoder block; parameters `self_attn.*`, `mlp.*`, `input_layernorm.weight`, `post_attention_layernorm.weight`. */
export class LlamaDecoderLayer extends Module {
  /** Grouped-query self-attention. */
  readonly selfAttn: LlamaAttention;
  /** SwiGLU feed-forward. */
  readonly mlp: LlamaMLP;
  /** RMSNorm before attention. */
  readonly inputLayernorm: RMSNorm;
  /** RMSNorm before the feed-forward. */
  readonly postAttentionLayernorm: RMSNorm;

  /**
   * @param config - model hyper-parameters
   * @param layerIndex - position of the block in the stack
   */
  constructor(config: LlamaConfig, layerIndex: number, init: DecoderLayerInit) {
    super();
    const { std, residualStd, seedOf } = init;
    const d = config.hidden_size;
    this.selfAttn = this.registerModule(
      'self_attn',
      new LlamaAttention(config, layerIndex, {
        std,
        residualStd,
        seeds: ['q', 'k', 'v', 'o'].map((p) => seedOf(`self_attn.${p}_proj.weight`)) as [
          number,
          number,
          number,
          number,
        ],
      }),
    );
    this.mlp = this.registerModule(
      'mlp',
      new LlamaMLP(d, config.intermediate_size, {
        std,
        residualStd,
        seeds: ['gate', 'up', 'down'].map((p) => seedOf(`mlp.${p}_proj.weight`)) as [number, number, number],
      }),
    );
    this.inputLayernorm = this.registerModule('input_layernorm', new RMSNorm(d, config.rms_norm_eps));
    this.postAttentionLayernorm = this.registerModule('post_attention_layernorm', new RMSNorm(d, config.rms_norm_eps));
  }

  /**
   * The block's second half from the attention output `a`: h = x + a, then h + mlp(rmsNorm(h)); the residual add
   * and the norm run as one fused kernel.
   */
  private feedForward(x: Tensor, a: Tensor): Tensor {
    const norm = this.postAttentionLayernorm;
    const { sum, y } = addRmsNorm(x, a, norm.weight, norm.eps);
    return sum.add(this.mlp.forward(y));
  }

  /** `x [B, T, d]` at int32 `positions [T]` → `[B, T, d]`, optionally through a cache slot (see `LlamaAttention`). */
  forward(x: Tensor, positions: Tensor, cacheSlot?: AttentionCacheSlot): Tensor {
    const a = this.selfAttn.forward(this.inputLayernorm.forward(x), positions, cacheSlot);
    return this.feedForward(x, a);
  }

  /** One token per slot of `step`: `x [n, 1, d]` → `[n, 1, d]` (see `LlamaAttention.decode`). */
  decode(x: Tensor, step: DecodeStep): Tensor {
    return this.feedForward(x, this.selfAttn.decode(this.inputLayernorm.forward(x), step));
  }
}
