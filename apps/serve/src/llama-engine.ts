/**
 * The real engine: a `LlamaForCausalLM` from @andes/nn with one preallocated `KvCache` of `maxSlots` slots.
 * Prefill is one forward over the whole prompt, or over the chunks of several prompts at once (`prefillMany`);
 * decode is one `forwardBatch` over every running slot, so the number of kernel dispatches per step does not grow
 * with the batch; `decodeSampled` also picks the tokens on the device and reads back only ids.
 *
 * @module
 */
import { KvCache, type LlamaForCausalLM, prefillPacked } from '@andes/nn';
import { type SampledTokens, sampleTokens, type Tensor, type TokenSampling } from '@andes/tensor';
import type { DecodeRow, Engine, PrefillRequest, SampledRow } from './engine.js';

/** Sizing of the engine's KV cache. */
export interface LlamaEngineOptions {
  /** Slots wanted (the largest decode batch). */
  maxSlots: number;
  /** Positions per slot (default: the model's `max_position_embeddings`). */
  maxContext?: number;
  /** Bytes the KV cache may take; slots are reduced to fit (default: no limit). */
  kvBudgetBytes?: number;
}

/** Slots that fit `budget` bytes at `context` positions each, capped at `wanted`; throws if not even one fits. */
export function slotsWithinBudget(model: LlamaForCausalLM, wanted: number, context: number, budget?: number): number {
  if (budget === undefined) return wanted;
  const perSlot = KvCache.bytesFor(model.config, { maxBatch: 1, maxSeq: context });
  const fit = Math.floor(budget / perSlot);
  if (fit < 1) {
    throw new Error(
      `LlamaEngine: one KV-cache slot of ${context} positions needs ${perSlot} bytes, more than the budget of ${budget}; lower --context`,
    );
  }
  return Math.min(wanted, fit);
}

async function readAndDispose(t: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** An `Engine` over a `LlamaForCausalLM`. */
export class LlamaEngine implements Engine {
  readonly vocabSize: number;
  readonly maxSlots: number;
  readonly maxContext: number;
  /** The preallocated cache: `maxSlots` × `maxContext` positions of every layer. */
  readonly cache: KvCache;

  /** Allocates the KV cache at once, so memory use is known at startup. */
  constructor(
    readonly model: LlamaForCausalLM,
    options: LlamaEngineOptions,
  ) {
    this.vocabSize = model.config.vocab_size;
    this.maxContext = Math.min(options.maxContext ?? Infinity, model.config.max_position_embeddings);
    this.maxSlots = slotsWithinBudget(model, options.maxSlots, this.maxContext, options.kvBudgetBytes);
    this.cache = new KvCache(model.config, { maxBatch: this.maxSlots, maxSeq: this.maxContext });
  }

  async prefill(
    slot: number,
    ids: readonly number[],
    opts: { start?: number; allLogits?: boolean } = {},
  ): Promise<Float32Array> {
    const start = opts.start ?? 0;
    if (start === 0) this.cache.release(slot);
    return readAndDispose(this.model.prefill(ids, { cache: this.cache, slot, start, allLogits: !!opts.allLogits }));
  }

  async prefillMany(requests: readonly PrefillRequest[]): Promise<Float32Array[]> {
    for (const r of requests) if (r.start === 0) this.cache.release(r.slot);
    const all = await readAndDispose(prefillPacked(this.model, requests, this.cache));
    const v = this.vocabSize;
    const out: Float32Array[] = [];
    let row = 0;
    for (const r of requests) {
      const n = r.allLogits ? r.ids.length : 1;
      out.push(all.subarray(row * v, (row + n) * v));
      row += n;
    }
    return out;
  }

  copyPrefix(from: number, to: number, length: number): void {
    if (from === to || length === 0) return;
    this.cache.checkRange(from, 0, length);
    for (let layer = 0; layer < this.cache.numLayers; layer++) {
      const { k, v } = this.cache.read(layer, [from], length);
      this.cache.write(layer, to, 0, k, v);
      k.dispose();
      v.dispose();
    }
  }

  async decode(rows: readonly DecodeRow[]): Promise<Float32Array> {
    return readAndDispose(
      this.model.forwardBatch(
        rows.map((r) => r.token),
        { cache: this.cache, slots: rows.map((r) => r.slot), positions: rows.map((r) => r.position) },
      ),
    );
  }

  async decodeSampled(
    rows: readonly DecodeRow[],
    draws: readonly TokenSampling[],
    topLogprobs: number,
  ): Promise<SampledRow[]> {
    const logits = this.model.forwardBatch(
      rows.map((r) => r.token),
      { cache: this.cache, slots: rows.map((r) => r.slot), positions: rows.map((r) => r.position) },
    );
    let out: SampledTokens;
    try {
      const flat = logits.reshape([rows.length, this.vocabSize]);
      try {
        out = sampleTokens(flat, draws, { topLogprobs });
      } finally {
        flat.dispose();
      }
    } finally {
      logits.dispose();
    }
    try {
      const ids = await out.ids.data();
      const lp = out.logprob ? await out.logprob.data() : undefined;
      const topIds = out.topIds ? await out.topIds.data() : undefined;
      const topLp = out.topLogprobs ? await out.topLogprobs.data() : undefined;
      const n = Math.max(0, topLogprobs);
      return rows.map((_, i) => ({
        id: ids[i]!,
        logprob: lp?.[i],
        top: Array.from({ length: topIds ? n : 0 }, (_, j) => ({
          id: topIds![i * n + j]!,
          logprob: topLp![i * n + j]!,
        })),
      }));
    } finally {
      for (const t of [out.ids, out.logprob, out.topIds, out.topLogprobs]) t?.dispose();
    }
  }

  release(slot: number): void {
    this.cache.release(slot);
  }

  dispose(): void {
    this.cache.dispose();
  }
}
