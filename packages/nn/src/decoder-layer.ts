/**
 * One pre-norm LLaMA decoder block: h = x + attn(norm(x)); out = h + mlp(norm(h)).
 *
 * @module
 */

import { addRmsNorm, type Tensor, tidy } from '@andes/tensor';
import { type AttentionCacheSlot, type DecodeStep, LlamaAttention, type PagedStep } from './attention.js';
import type { LlamaConfig } from './config.js';
import { LlamaMLP } from './feed-forward.js';
import { childInit, type ModuleInit } from './init.js';
import { Module } from './module.js';
import { RMSNorm } from './rms-norm.js';

/**
 * Scales of one block's weights, and the model seed and this block's name (default `model.layers.<layerIndex>`),
 * which every weight's seed is derived from.
 */
export interface DecoderLayerInit extends ModuleInit {
  /** std of the non-residual projections (default `config.initializer_range`). */
  std?: number;
  /** std of o_proj and down_proj (default std / sqrt(2·layers), as the model uses). */
  residualStd?: number;
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
  constructor(config: LlamaConfig, layerIndex: number, init: DecoderLayerInit = {}) {
    super();
    const std = init.std ?? config.initializer_range;
    const residualStd = init.residualStd ?? std / Math.sqrt(2 * config.num_hidden_layers);
    const scope: ModuleInit = { seed: init.seed, name: init.name ?? `model.layers.${layerIndex}`, empty: init.empty };
    const d = config.hidden_size;
    this.selfAttn = this.registerModule(
      'self_attn',
      new LlamaAttention(config, layerIndex, { std, residualStd, ...childInit(scope, 'self_attn') }),
    );
    this.mlp = this.registerModule(
      'mlp',
      new LlamaMLP(d, config.intermediate_size, { std, residualStd, ...childInit(scope, 'mlp') }),
    );
    this.inputLayernorm = this.registerModule('input_layernorm', new RMSNorm(d, config.rms_norm_eps));
    this.postAttentionLayernorm = this.registerModule('post_attention_layernorm', new RMSNorm(d, config.rms_norm_eps));
  }

  /**
   * The block's second half from the attention output `a`: h = x + a, then h + mlp(rmsNorm(h)); the first residual
   * add and the norm run as one fused kernel, the second as down_proj's epilogue. (o_proj keeps a plain product:
   * its residual is already fused into addRmsNorm, so an epilogue there would save no dispatch.)
   */
  private feedForward(x: Tensor, a: Tensor): Tensor {
    const norm = this.postAttentionLayernorm;
    const { sum, y } = addRmsNorm(x, a, norm.weight, norm.eps);
    return this.mlp.forwardResidual(y, sum);
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

  /** Rows of several sequences packed as `x [1, T, d]` over a paged cache (see `LlamaAttention.forwardPaged`). */
  forwardPaged(x: Tensor, positions: Tensor, step: PagedStep): Tensor {
    return this.feedForward(x, this.selfAttn.forwardPaged(this.inputLayernorm.forward(x), positions, step));
  }
}

/**
 * `x` through `layers` in order (`call(layer, h)` runs one), for inference: each layer runs in its own tidy scope and
 * its input is freed as it ends (`x` too), so the next layer's outputs reuse those arrays from the CPU pool while
 * they are still in cache. Freed together at the end of a decode step instead, ~100 arrays a step came back cold from
 * memory after the weights had streamed past (~2–3 % of a one-row stories-15m step).
 */
export function throughLayers(
  layers: Iterable<LlamaDecoderLayer>,
  x: Tensor,
  call: (layer: LlamaDecoderLayer, h: Tensor) => Tensor,
): Tensor {
  let h = x;
  for (const layer of layers) {
    const input = h;
    h = tidy(() => call(layer, input));
    if (h !== input) input.dispose();
  }
  return h;
}
