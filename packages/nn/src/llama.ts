/**
 * `LlamaModel` (embeddings, decoder stack, final norm) and `LlamaForCausalLM` (plus the output projection), with
 * Hugging Face's parameter names so a `model.safetensors` state dict loads untouched.
 *
 * @module
 */

import {
  type BlockWeight,
  blockLinear,
  checkpoint,
  isGradEnabled,
  linear,
  noGrad,
  type Tensor,
  tensor,
  tidy,
} from '@andes/tensor';
import { decodeStep } from './attention.js';
import { useBlockWeights } from './block-weights.js';
import { type LlamaConfig, validateLlamaConfig } from './config.js';
import { LlamaDecoderLayer, throughLayers } from './decoder-layer.js';
import { Embedding } from './embedding.js';
import { childInit } from './init.js';
import type { KvCache } from './kv-cache.js';
import { Linear } from './linear.js';
import { crossEntropyLoss } from './loss.js';
import { Module, ModuleList, type StateDictEntry } from './module.js';
import { RMSNorm } from './rms-norm.js';
import { positionRange } from './rotary-embedding.js';

/** Options of the model constructors. */
export interface LlamaInitOptions {
  /** Seed of the weight initialisation (default 0). Same seed → same weights on every backend. */
  seed?: number;
  /**
   * Build without allocating the linear and embedding matrices (PyTorch's `device='meta'`): they come from
   * `loadStateDict` (allocated one at a time) or `useBlockWeights`, and using one before throws naming it. Use it
   * to load a model from a file (see {@link LlamaForCausalLM.fromWeights}). Default false.
   */
  empty?: boolean;
}

/**
 * The decoder stack without the output projection; parameters `embed_tokens.weight`, `layers.N.*`, `norm.weight`.
 * Initialisation as Meta/llama2.c: normal(0, initializer_range) everywhere, residual projections (o_proj,
 * down_proj) scaled by 1/sqrt(2·layers) as GPT-2 and llama2.c do, norm weights 1.
 */
export class LlamaModel extends Module {
  /** `[V, d]`. */
  readonly embedTokens: Embedding;
  /** The decoder blocks. */
  readonly layers: ModuleList<LlamaDecoderLayer>;
  /** Final RMSNorm. */
  readonly norm: RMSNorm;
  /** Recompute each block's activations during backward (less memory, ~1/3 more compute) while training. */
  gradientCheckpointing = false;

  /**
   * @param config - validated hyper-parameters
   * @param options - `seed`, and `prefix`: this module's name in the full model (default `'model'`), which
   *   per-parameter seeds are derived from
   */
  constructor(
    readonly config: LlamaConfig,
    options: LlamaInitOptions & { prefix?: string } = {},
  ) {
    super();
    validateLlamaConfig(config);
    const seed = options.seed ?? 0;
    const prefix = options.prefix ?? 'model';
    const std = config.initializer_range;
    const residualStd = std / Math.sqrt(2 * config.num_hidden_layers);
    // Every weight's seed comes from (seed, its Hugging Face name): adding a module never reseeds the others.
    const scope = { seed, name: prefix, empty: options.empty };
    this.embedTokens = this.registerModule(
      'embed_tokens',
      new Embedding(config.vocab_size, config.hidden_size, { std, ...childInit(scope, 'embed_tokens') }),
    );
    const blocks: LlamaDecoderLayer[] = [];
    for (let i = 0; i < config.num_hidden_layers; i++) {
      blocks.push(new LlamaDecoderLayer(config, i, { std, residualStd, ...childInit(scope, `layers.${i}`) }));
    }
    this.layers = this.registerModule('layers', new ModuleList(blocks));
    this.norm = this.registerModule('norm', new RMSNorm(config.hidden_size, config.rms_norm_eps));
  }

  /**
   * Hidden states after the final norm: int32 `ids [B, T]` → `[B, T, d]` at positions `start..start+T-1`.
   * With `cacheSlot`, keys/values are written to (and read from) that slot of the cache.
   */
  forward(ids: Tensor, options: { start?: number; cache?: KvCache; slot?: number } = {}): Tensor {
    const t = ids.shape[1] as number;
    const start = options.start ?? 0;
    const positions = positionRange(start, t);
    const cacheSlot =
      options.cache === undefined ? undefined : { cache: options.cache, slot: options.slot ?? 0, start };
    let x = this.embedTokens.forward(ids);
    const recompute = this.gradientCheckpointing && this.training && isGradEnabled() && cacheSlot === undefined;
    for (const layer of this.layers) {
      // tidy inside the checkpointed fn: its intermediates are not on the tape, so nothing else would free them
      // before backward (the recomputation's graph keeps its own references).
      x = recompute
        ? checkpoint((h: Tensor) => tidy(() => layer.forward(h, positions)), x)
        : layer.forward(x, positions, cacheSlot);
    }
    return this.norm.forward(x);
  }
}

/** Options of {@link LlamaForCausalLM.forward}. */
export interface CausalLMForwardOptions {
  /** Compute logits only for the last position (generation): the result is `[B, 1, V]`. */
  lastOnly?: boolean;
}

/** Options of {@link LlamaForCausalLM.prefill}. */
export interface PrefillOptions {
  /** The cache to fill. */
  cache: KvCache;
  /** Slot of the sequence (default 0). */
  slot?: number;
  /** Position of the first id (default: the slot's current length, so prefill can also extend a sequence). */
  start?: number;
  /** Return logits of every position `[T, V]` (scoring) instead of only the last `[1, V]`. */
  allLogits?: boolean;
}

/** Options of {@link LlamaForCausalLM.forwardBatch}. */
export interface ForwardBatchOptions {
  /** The cache holding each slot's earlier keys/values. */
  cache: KvCache;
  /** Slot of each token. Distinct. */
  slots: readonly number[];
  /** Position of each token in its sequence (default: each slot's current length). */
  positions?: readonly number[];
}

function idsTensor(ids: Tensor | ArrayLike<number>): Tensor {
  if ((ids as Tensor).dtype !== undefined && typeof (ids as Tensor).data === 'function') {
    const t = ids as Tensor;
    return t.shape.length === 1 ? t.reshape([1, t.shape[0] as number]) : t;
  }
  const host = Int32Array.from(ids as ArrayLike<number>);
  return tensor(host, [1, host.length], { dtype: 'int32' });
}

/**
 * A LLaMA language model: {@link LlamaModel} plus `lm_head` (absent when `tie_word_embeddings`: the output projection
 * is then a transposed view of the embedding table).
 *
 * @example
 * ```ts
 * const model = new LlamaForCausalLM(llamaPreset('tiny', { vocab_size: 512 }), { seed: 1 });
 * const loss = model.loss(ids, targets); // ids, targets int32 [B, T]
 * loss.backward();
 * ```
 */
export class LlamaForCausalLM extends Module {
  /** The decoder stack (`model.*`). */
  readonly model: LlamaModel;
  /** `[V, d]`, or null when tied to `model.embed_tokens.weight`. */
  readonly lmHead: Linear | null;

  /** Builds and initialises the model (seeded; see {@link LlamaModel}). */
  constructor(
    readonly config: LlamaConfig,
    options: LlamaInitOptions = {},
  ) {
    super();
    this.model = this.registerModule(
      'model',
      new LlamaModel(config, { seed: options.seed, prefix: 'model', empty: options.empty }),
    );
    this.lmHead = config.tie_word_embeddings
      ? null
      : this.registerModule(
          'lm_head',
          new Linear(config.hidden_size, config.vocab_size, {
            std: config.initializer_range,
            seed: options.seed ?? 0,
            name: 'lm_head',
            empty: options.empty,
          }),
        );
  }

  /** Whether decoder blocks are recomputed during backward to save activation memory. */
  get gradientCheckpointing(): boolean {
    return this.model.gradientCheckpointing;
  }

  set gradientCheckpointing(on: boolean) {
    this.model.gradientCheckpointing = on;
  }

  /** Output projection of hidden states `[..., d] → [..., V]`. */
  logits(hidden: Tensor): Tensor {
    if (this.lmHead !== null) return this.lmHead.forward(hidden);
    // Tied: the embedding table [V, d] is the weight, read through a transposed view as in Linear (or its blocks).
    const table = this.model.embedTokens.blockWeight;
    return table ? blockLinear(hidden, table) : linear(hidden, this.model.embedTokens.weight);
  }

  /** int32 `ids [B, T]` → logits `[B, T, V]` (or `[B, 1, V]` with `lastOnly`). */
  forward(ids: Tensor, options: CausalLMForwardOptions = {}): Tensor {
    if (ids.dtype !== 'int32' || ids.shape.length !== 2) {
      throw new Error(
        `LlamaForCausalLM.forward: ids must be int32 [batch, seq], got ${ids.dtype} [${ids.shape.join(', ')}]`,
      );
    }
    let hidden = this.model.forward(ids);
    if (options.lastOnly) {
      const t = ids.shape[1] as number;
      hidden = hidden.slice(1, t - 1, t);
    }
    return this.logits(hidden);
  }

  /**
   * Mean next-token cross-entropy (nats) of int32 `ids [B, T]` against int32 `targets [B, T]` (usually ids shifted
   * by one), with the fused kernel; targets equal to `ignoreIndex` (default -100) do not count. Returns a scalar.
   */
  loss(ids: Tensor, targets: Tensor, options: { ignoreIndex?: number } = {}): Tensor {
    return crossEntropyLoss(this.forward(ids), targets, options.ignoreIndex ?? -100);
  }

  /**
   * Runs one sequence through the model, storing its keys/values in `cache` slot `slot` from position `start`, and
   * returns logits of its last position `[1, V]` (or all `[T, V]` with `allLogits`). No gradients; intermediates are
   * freed. Sets the slot's length to `start + T`.
   */
  prefill(ids: Tensor | ArrayLike<number>, options: PrefillOptions): Tensor {
    const { cache } = options;
    const slot = options.slot ?? 0;
    const start = options.start ?? (cache.lengths[slot] as number);
    const result = noGrad(() =>
      tidy(() => {
        const input = idsTensor(ids);
        if (input.shape[0] !== 1) {
          throw new Error(`LlamaForCausalLM.prefill: one sequence per call, got ids [${input.shape.join(', ')}]`);
        }
        const t = input.shape[1] as number;
        cache.checkRange(slot, start, t);
        let hidden = this.model.forward(input, { start, cache, slot });
        if (!options.allLogits) hidden = hidden.slice(1, t - 1, t);
        const logits = this.logits(hidden);
        return logits.reshape([logits.shape[1] as number, this.config.vocab_size]);
      }),
    );
    cache.lengths[slot] = start + lengthOf(ids);
    return result;
  }

  /**
   * One decoding step for several sequences at once (continuous batching): `tokens[i]` is the next token of the
   * sequence in `slots[i]`, at `positions[i]` (default: the slot's length). Returns last-position logits
   * `[n, V]` and advances each slot's length to `position + 1`. No gradients; intermediates are freed.
   */
  forwardBatch(tokens: ArrayLike<number>, options: ForwardBatchOptions): Tensor {
    const { cache, slots } = options;
    const n = slots.length;
    if (tokens.length !== n || n === 0) {
      throw new Error(`LlamaForCausalLM.forwardBatch: ${tokens.length} tokens for ${n} slots (need one per slot, ≥ 1)`);
    }
    if (new Set(slots).size !== n) throw new Error(`LlamaForCausalLM.forwardBatch: slots [${slots.join(', ')}] repeat`);
    const hostPositions = Int32Array.from(options.positions ?? slots.map((s) => cache.lengths[s] as number));
    if (hostPositions.length !== n) {
      throw new Error(`LlamaForCausalLM.forwardBatch: ${hostPositions.length} positions for ${n} slots`);
    }
    for (let i = 0; i < n; i++) cache.checkRange(slots[i] as number, hostPositions[i] as number, 1);
    const logits = noGrad(() =>
      tidy(() => {
        const ids = tensor(Int32Array.from(tokens), [n, 1], { dtype: 'int32' });
        const step = decodeStep(cache, slots, hostPositions);
        let x = this.model.embedTokens.forward(ids); // [n, 1, d]
        x = throughLayers(this.model.layers, x, (layer, h) => layer.decode(h, step));
        return this.logits(this.model.norm.forward(x)).reshape([n, this.config.vocab_size]);
      }),
    );
    for (let i = 0; i < n; i++) cache.lengths[slots[i] as number] = (hostPositions[i] as number) + 1;
    return logits;
  }

  /**
   * `loadStateDict` ignores entries Hugging Face checkpoints may carry that are not parameters here:
   * `*.rotary_emb.inv_freq` buffers, and `lm_head.weight` when embeddings are tied.
   */
  protected override ignoresStateDictEntry(name: string): boolean {
    return name.endsWith('.rotary_emb.inv_freq') || (name === 'lm_head.weight' && this.lmHead === null);
  }

  /**
   * Builds a model from loaded weights without allocating any other copy of them (see `LlamaInitOptions.empty`):
   * `blockWeights` (half-float or quantized matrices, e.g. from `loadModel(path, { dtype: 'keep' })`) go to their
   * layers, then `tensors` are uploaded one at a time and removed from the map as they are, so the host copy is
   * freed as the model fills. Takes ownership of both. Returns the model in eval mode.
   *
   * @example
   * const loaded = await loadModel('llama-7b.q4_0.gguf', { dtype: 'keep' });
   * const model = LlamaForCausalLM.fromWeights(loaded.config, loaded);
   * @throws Error naming missing or unexpected weights (every parameter must be supplied), or a shape mismatch.
   */
  static fromWeights(
    config: LlamaConfig,
    weights: { tensors: Map<string, StateDictEntry>; blockWeights?: ReadonlyMap<string, BlockWeight> },
  ): LlamaForCausalLM {
    const model = new LlamaForCausalLM(config, { empty: true });
    try {
      if (weights.blockWeights !== undefined) useBlockWeights(model, weights.blockWeights);
      model.loadStateDict(weights.tensors, { release: true });
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model.eval();
  }
}

function lengthOf(ids: Tensor | ArrayLike<number>): number {
  if (typeof (ids as Tensor).data === 'function') {
    const shape = (ids as Tensor).shape;
    return shape[shape.length - 1] as number;
  }
  return (ids as ArrayLike<number>).length;
}
