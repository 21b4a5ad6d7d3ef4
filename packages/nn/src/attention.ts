/**
 * LLaMA's multi-head self-attention with grouped-query heads, rotary positions and a `KvCache`.
 *
 * Three paths share the projections:
 * - `forward` (training, scoring, prefill): the fused, tiled `scaledDotProductAttention` with a causal mask;
 * - `forward` with a cache slot: the same, after writing this chunk's keys/values into the slot;
 * - `decode` (one new token per active slot, each at its own position): composed attention — matmul, an additive
 *   mask for each slot's length, softmax, matmul. With one query per slot the scores are `[slots, heads, S]`, so
 *   memory stays O(S).
 *
 * @module
 */

import {
  matmul,
  type PagedKvIndex,
  pagedAttention,
  scaledDotProductAttention,
  type Tensor,
  tensor,
  writePagedKv,
} from '@andes/tensor';
import { headDim, type LlamaConfig } from './config.js';
import { childInit, type ModuleInit } from './init.js';
import type { KvCache } from './kv-cache.js';
import { forwardMany, Linear } from './linear.js';
import { Module } from './module.js';
import type { PagedKvCache } from './paged-kv-cache.js';
import { RotaryEmbedding } from './rotary-embedding.js';

/** Where `LlamaAttention.forward` reads and writes cached keys/values: one slot, from position `start`. */
export interface AttentionCacheSlot {
  /** The cache. */
  cache: KvCache;
  /** Slot index. */
  slot: number;
  /** Position of the first token of this chunk (tokens `[0, start)` are already in the slot). */
  start: number;
}

/**
 * Initialisation of {@link LlamaAttention}: std of q/k/v, std of o_proj, and the model seed and this module's name
 * (default `model.layers.<layerIndex>.self_attn`), which every projection's seed is derived from.
 */
export interface LlamaAttentionInit extends ModuleInit {
  /** std of q_proj, k_proj, v_proj (default 0.02). */
  std?: number;
  /** std of o_proj, a residual projection (default `std`). */
  residualStd?: number;
}

/** Grouped-query self-attention of one decoder layer; parameters `{q,k,v,o}_proj.weight`. */
export class LlamaAttention extends Module {
  /** `[Hq·Dh, d]`. */
  readonly qProj: Linear;
  /** `[Hkv·Dh, d]`. */
  readonly kProj: Linear;
  /** `[Hkv·Dh, d]`. */
  readonly vProj: Linear;
  /** `[d, Hq·Dh]`. */
  readonly oProj: Linear;
  /** Query heads. */
  readonly numHeads: number;
  /** Key/value heads. */
  readonly numKvHeads: number;
  /** Head size. */
  readonly headDim: number;
  /** The rotary embedding applied to queries and keys. */
  readonly rotary: RotaryEmbedding;

  /**
   * @param config - model hyper-parameters
   * @param layerIndex - which layer this is (selects the layer's cache tensors)
   */
  constructor(
    config: LlamaConfig,
    readonly layerIndex: number,
    init: LlamaAttentionInit = {},
  ) {
    super();
    const d = config.hidden_size;
    this.numHeads = config.num_attention_heads;
    this.numKvHeads = config.num_key_value_heads;
    this.headDim = headDim(config);
    const std = init.std ?? config.initializer_range;
    const scope: ModuleInit = {
      seed: init.seed,
      name: init.name ?? `model.layers.${layerIndex}.self_attn`,
      empty: init.empty,
    };
    const kv = this.numKvHeads * this.headDim;
    const q = this.numHeads * this.headDim;
    this.qProj = this.registerModule('q_proj', new Linear(d, q, { std, ...childInit(scope, 'q_proj') }));
    this.kProj = this.registerModule('k_proj', new Linear(d, kv, { std, ...childInit(scope, 'k_proj') }));
    this.vProj = this.registerModule('v_proj', new Linear(d, kv, { std, ...childInit(scope, 'v_proj') }));
    this.oProj = this.registerModule(
      'o_proj',
      new Linear(q, d, { std: init.residualStd ?? std, ...childInit(scope, 'o_proj') }),
    );
    this.rotary = new RotaryEmbedding(config.rope_theta, config.rope_style);
  }

  /** q, k, v of `x [B, T, d]` with rotary applied to q and k, each `[B, T, heads, Dh]`. */
  #project(x: Tensor, positions: Tensor): { q: Tensor; k: Tensor; v: Tensor } {
    const [b, t] = x.shape as [number, number, number];
    // One grouped product for all three (contiguous blocks of one storage: rope and reshape read them in place).
    const [qx, kx, vx] = forwardMany([this.qProj, this.kProj, this.vProj], x) as [Tensor, Tensor, Tensor];
    const q = this.rotary.apply(qx.reshape([b, t, this.numHeads, this.headDim]), positions);
    const k = this.rotary.apply(kx.reshape([b, t, this.numKvHeads, this.headDim]), positions);
    const v = vx.reshape([b, t, this.numKvHeads, this.headDim]);
    return { q, k, v };
  }

  /**
   * Causal self-attention of `x [B, T, d]` at int32 `positions [T]` → `[B, T, d]`. With `cacheSlot` (B must be 1),
   * the chunk's keys/values are stored at `[start, start+T)` of the slot and the queries also attend the slot's
   * earlier positions.
   */
  forward(x: Tensor, positions: Tensor, cacheSlot?: AttentionCacheSlot): Tensor {
    const [b, t, d] = x.shape as [number, number, number];
    const { q, k, v } = this.#project(x, positions);
    // [B, T, H, Dh] → [B, H, T, Dh] as views (the attention op makes its inputs contiguous).
    const qh = q.permute([0, 2, 1, 3]);
    let kh = k.permute([0, 2, 1, 3]);
    let vh = v.permute([0, 2, 1, 3]);
    if (cacheSlot !== undefined) {
      if (b !== 1) throw new Error(`LlamaAttention.forward: a cache slot takes one sequence, got batch ${b}`);
      const { cache, slot, start } = cacheSlot;
      cache.write(this.layerIndex, slot, start, kh, vh);
      if (start > 0) ({ k: kh, v: vh } = cache.read(this.layerIndex, [slot], start + t));
    }
    const o = scaledDotProductAttention(qh, kh, vh, { causal: true });
    return this.oProj.forward(o.permute([0, 2, 1, 3]).contiguous().reshape([b, t, d]));
  }

  /**
   * One new token for each slot of `step`: `x [n, 1, d]` → `[n, 1, d]`. Stores each slot's key/value at its position,
   * then attends positions `[0, position]` of each slot.
   */
  decode(x: Tensor, step: DecodeStep): Tensor {
    const { cache, slots, hostPositions, span } = step;
    const n = slots.length;
    const d = x.shape[2] as number;
    const group = this.numHeads / this.numKvHeads;
    const { q, k, v } = this.#project(x, step.positions);
    for (let i = 0; i < n; i++) {
      // [1, 1, Hkv, Dh] → [1, Hkv, 1, Dh]
      const ki = k.slice(0, i, i + 1).permute([0, 2, 1, 3]);
      const vi = v.slice(0, i, i + 1).permute([0, 2, 1, 3]);
      cache.write(this.layerIndex, slots[i] as number, hostPositions[i] as number, ki, vi);
    }
    const { k: keys, v: values } = cache.read(this.layerIndex, slots, span); // [n, Hkv, S, Dh]
    // Query head h uses kv head ⌊h / group⌋ (Hugging Face's repeat_kv), so [n, 1, Hq, Dh] → [n, Hkv, group, Dh].
    const qg = q.reshape([n, this.numKvHeads, group, this.headDim]);
    let scores = matmul(qg, keys.transpose(2, 3)).mul(1 / Math.sqrt(this.headDim)); // [n, Hkv, group, S]
    if (step.mask !== null) scores = scores.add(step.mask);
    const o = matmul(scores.softmax(-1), values); // [n, Hkv, group, Dh]
    return this.oProj.forward(o.reshape([n, 1, d]));
  }
  /**
   * Rows of several sequences (decodes and prefill chunks mixed) packed as `x [1, T, d]` at int32 `positions [T]`,
   * over a paged cache (see `forwardPaged`): the rows' keys/values go straight into their blocks, then every row
   * attends its own sequence's positions `[0, position]` through the block table, in one op for all rows.
   */
  forwardPaged(x: Tensor, positions: Tensor, step: PagedStep): Tensor {
    const [, t, d] = x.shape as [number, number, number];
    const { q, k, v } = this.#project(x, positions);
    const keys = step.cache.keys[this.layerIndex]!;
    const values = step.cache.values[this.layerIndex]!;
    writePagedKv(keys, k.reshape([t, this.numKvHeads, this.headDim]), step.index);
    writePagedKv(values, v.reshape([t, this.numKvHeads, this.headDim]), step.index);
    const o = pagedAttention(q.reshape([t, this.numHeads, this.headDim]), keys, values, step.index);
    return this.oProj.forward(o.reshape([1, t, d]));
  }
}

/** What every layer of one `forwardPaged` step shares: the paged cache and the step's row/block index. */
export interface PagedStep {
  /** The cache whose pools the rows write and read. */
  cache: PagedKvCache;
  /** Each row's sequence, position and pool slot, and the block tables. */
  index: PagedKvIndex;
}

/** What every layer of one batched decoding step shares (built once per step by `LlamaForCausalLM.forwardBatch`). */
export interface DecodeStep {
  /** The cache. */
  cache: KvCache;
  /** Slot of each row. */
  slots: readonly number[];
  /** Position of each row's token, on the host. */
  hostPositions: Int32Array;
  /** The same positions as an int32 tensor `[n, 1]` (for rotary). */
  positions: Tensor;
  /** Key positions attended: max(position) + 1. */
  span: number;
  /**
   * Additive mask `[n, 1, 1, span]`: 0 where key s ≤ the row's position, -1e9 after it (stale or other sequences'
   * lengths); null when every row sees the whole span (e.g. a single sequence).
   */
  mask: Tensor | null;
}

/** Builds the shared inputs of one decoding step (uploads positions and, when rows differ in length, the mask). */
export function decodeStep(cache: KvCache, slots: readonly number[], hostPositions: Int32Array): DecodeStep {
  const n = slots.length;
  let span = 0;
  for (const p of hostPositions) span = Math.max(span, p + 1);
  let mask: Tensor | null = null;
  if (hostPositions.some((p) => p + 1 !== span)) {
    const values = new Float32Array(n * span);
    for (let i = 0; i < n; i++) {
      // -1e9 rather than -Infinity: WGSL does not promise IEEE infinities; exp underflows to exactly 0 either way.
      for (let s = (hostPositions[i] as number) + 1; s < span; s++) values[i * span + s] = -1e9;
    }
    mask = tensor(values, [n, 1, 1, span]);
  }
  const positions = tensor(hostPositions, [n, 1], { dtype: 'int32' });
  return { cache, slots, hostPositions, positions, span, mask };
}
