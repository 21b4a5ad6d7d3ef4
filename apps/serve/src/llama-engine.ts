/**
 * The real engine: a `LlamaForCausalLM` from @andes/nn with one preallocated `KvCache` of `maxSlots` slots.
 * Prefill is one forward over the whole prompt; decode is one `forwardBatch` over every running slot, so the
 * number of kernel dispatches per step does not grow with the batch.
 *
 * @module
 */
import { KvCache, type LlamaForCausalLM } from '@andes/nn';
import type { Tensor } from '@andes/tensor';
import type { DecodeRow, Engine } from './engine.js';

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

  async decode(rows: readonly DecodeRow[]): Promise<Float32Array> {
    return readAndDispose(
      this.model.forwardBatch(
        rows.map((r) => r.token),
        { cache: this.cache, slots: rows.map((r) => r.slot), positions: rows.map((r) => r.position) },
      ),
    );
  }

  release(slot: number): void {
    this.cache.release(slot);
  }

  dispose(): void {
    this.cache.dispose();
  }
}
