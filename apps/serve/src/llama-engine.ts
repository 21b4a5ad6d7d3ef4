/**
 * The real engine: a `LlamaForCausalLM` from @andes/nn over one `PagedKvCache` allocated at startup. Each step is
 * one `forwardPaged`: decodes and prefill chunks of every scheduled sequence in one forward, their keys/values
 * written straight into their blocks, so the number of kernel dispatches per step does not grow with the batch and
 * nothing is copied per step.
 *
 * @module
 */
import { forwardPaged, type LlamaForCausalLM, PagedKvCache } from '@andes/nn';
import type { Tensor } from '@andes/tensor';
import type { Engine, KvBlocks, StepChunk } from './engine.js';

/** Sizing of the engine's KV cache. */
export interface LlamaEngineOptions {
  /** The most sequences in one step (the largest batch). */
  maxSlots: number;
  /** Positions per sequence (default: the model's `max_position_embeddings`). */
  maxContext?: number;
  /** Positions per KV block (default 16). */
  blockSize?: number;
  /**
   * Bytes the KV cache may take; the pool gets as many blocks as fit (default: enough for `maxSlots` sequences of
   * `maxContext` positions each).
   */
  kvBudgetBytes?: number;
}

/**
 * Blocks of the pool: those that fit `budget` bytes, else enough for `slots` full contexts; throws if the budget
 * does not hold one full context (a single request could never finish).
 */
export function blocksWithinBudget(
  model: LlamaForCausalLM,
  slots: number,
  context: number,
  blockSize: number,
  budget?: number,
): number {
  const perContext = Math.ceil(context / blockSize);
  if (budget === undefined) return slots * perContext;
  const perBlock = PagedKvCache.bytesPerBlock(model.config, blockSize);
  const fit = Math.floor(budget / perBlock);
  if (fit < perContext) {
    throw new Error(
      `LlamaEngine: one context of ${context} positions needs ${perContext} KV blocks of ${perBlock} bytes, more than ` +
        `the budget of ${budget} bytes; lower --context`,
    );
  }
  return fit;
}

async function readAndDispose(t: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** An `Engine` over a `LlamaForCausalLM` with a paged KV cache. */
export class LlamaEngine implements Engine {
  readonly vocabSize: number;
  readonly maxSlots: number;
  readonly maxContext: number;
  /** The preallocated paged cache. */
  readonly cache: PagedKvCache;

  /** Allocates the KV pool at once, so memory use is known at startup. */
  constructor(
    readonly model: LlamaForCausalLM,
    options: LlamaEngineOptions,
  ) {
    this.vocabSize = model.config.vocab_size;
    this.maxContext = Math.min(options.maxContext ?? Infinity, model.config.max_position_embeddings);
    this.maxSlots = options.maxSlots;
    const blockSize = options.blockSize ?? 16;
    const numBlocks = blocksWithinBudget(model, this.maxSlots, this.maxContext, blockSize, options.kvBudgetBytes);
    this.cache = new PagedKvCache(model.config, { numBlocks, blockSize });
  }

  get blocks(): KvBlocks {
    return this.cache.pool;
  }

  async step(chunks: readonly StepChunk[]): Promise<Float32Array[]> {
    const pool = this.cache.pool;
    for (const c of chunks) {
      if (!pool.has(c.seq)) pool.open(c.seq);
      const end = c.start + c.ids.length;
      if (end > this.maxContext) {
        throw new Error(
          `LlamaEngine.step: sequence ${c.seq} would reach ${end} positions, context is ${this.maxContext}`,
        );
      }
      if (!pool.grow(c.seq, end)) {
        throw new Error(
          `LlamaEngine.step: no free KV blocks for sequence ${c.seq} (${pool.freeBlocks} free of ${pool.numBlocks})`,
        );
      }
    }
    const all = await readAndDispose(forwardPaged(this.model, chunks, this.cache));
    const v = this.vocabSize;
    const out: Float32Array[] = [];
    let row = 0;
    for (const c of chunks) {
      const n = c.allLogits ? c.ids.length : 1;
      out.push(all.subarray(row * v, (row + n) * v));
      row += n;
    }
    return out;
  }

  release(seq: number): void {
    if (this.cache.pool.has(seq)) this.cache.pool.close(seq);
  }

  dispose(): void {
    this.cache.dispose();
  }
}
