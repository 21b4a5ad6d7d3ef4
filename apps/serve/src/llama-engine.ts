/**
 * The real engine: a `LlamaForCausalLM` from @andes/nn over one `PagedKvCache` allocated at startup. Each step is
 * one `forwardPaged`: decodes and prefill chunks of every scheduled sequence in one forward, their keys/values
 * written straight into their blocks, so the number of kernel dispatches per step does not grow with the batch and
 * nothing is copied per step. Chunks that ask for a token are sampled on the device (`sampleTokens` over their logits
 * rows), so a decode step reads back only ids, and log-probabilities only for chunks that asked.
 *
 * @module
 */
import {
  forwardPaged,
  forwardPagedBetweenLayers,
  type KvBlockPool,
  type LlamaForCausalLM,
  PagedKvCache,
} from '@andes/nn';
import { embedding, sampleTokens, type Tensor, tensor } from '@andes/tensor';
import type { Engine, KvBlocks, SampledRow, StepChunk, StepResult } from './engine.js';
import { LayersInFlight } from './layers-in-flight.js';

/** How an engine worker runs a step (see engine-worker.ts). */
export interface WorkerStepOptions {
  /**
   * Called after each decoder layer, awaited when it returns a promise (`forwardPagedBetweenLayers`):
   * the worker runs cut-ins there.
   */
  betweenLayers?: () => Promise<void> | undefined;
  /** Commit the chunks to the pool (default true); the worker replays the main thread's commits instead. */
  commit?: boolean;
  /** Called once the forward is done (before the tokens are drawn). */
  onForward?: () => void;
}

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
  /**
   * Offer `Engine.cutIn` (default false) for steps on this thread whose device work runs apart from it (WebGPU): a
   * cut-in is encoded as soon as it is posted, behind whatever the running step has recorded so far (the device
   * queue runs it there, before the rest of the step), and settles when its own readback arrives, so a new prompt
   * waits for the step's recorded work instead of the whole step and then a step of its own.
   */
  cutIns?: boolean;
  /**
   * With `cutIns`: how far a step's recording may run ahead of the device, in layers (see {@link LayersInFlight}).
   * Infinity (the default): no waits, the step records all its layers at once and cut-ins go behind it; n: after each
   * layer the step submits it and waits until at most n layers are unfinished, so a cut-in lands within n + 1 layers
   * of its arrival (0: a drain after every layer). On lavapipe every wait cost 9–13 % of a 16-row step
   * (apps/serve/BENCHMARKS.md, lvp3).
   */
  cutInLayersInFlight?: number;
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

/** Whether a chunk's logits come back: always with `allLogits`, else when it is neither sampled nor skipped. */
function wantsLogits(c: StepChunk): boolean {
  return !!c.allLogits || (!c.sample && !c.skipLogits);
}

/**
 * Logits rows a chunk takes in `forwardPaged`'s output: every position with `allLogits`, none for a skipped prompt
 * chunk that draws nothing (its rows skip the output projection), else its last position.
 */
function rowsOf(c: StepChunk): number {
  return c.allLogits ? c.ids.length : c.skipLogits && !c.sample ? 0 : 1;
}

/** Rows `rows` of `all` [R, V] (all of it, not copied, when `rows` is 0…R-1 in order). */
function pickRows(all: Tensor, rows: readonly number[]): Tensor {
  if (rows.length === all.shape[0] && rows.every((r, i) => r === i)) return all;
  const ids = tensor(Int32Array.from(rows), [rows.length], { dtype: 'int32' });
  try {
    return embedding(all, ids);
  } finally {
    ids.dispose();
  }
}

/** Reads `t` back and frees it unless it is `keep`. */
async function readRows(t: Tensor, keep: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    if (t !== keep) t.dispose();
  }
}

/** Draws one token per row of `logits` [rows, V] on the device; reads back ids and only the asked log-probabilities. */
async function drawTokens(logits: Tensor, chunks: readonly StepChunk[]): Promise<SampledRow[]> {
  const n = Math.max(-1, ...chunks.map((c) => c.topLogprobs ?? -1));
  const out = sampleTokens(
    logits,
    chunks.map((c) => c.sample!),
    { topLogprobs: n },
  );
  try {
    // All reads submitted at once: one wait for the device, not one per output.
    const [ids, lp, topIds, topLp] = await Promise.all([
      out.ids.data(),
      out.logprob?.data(),
      out.topIds?.data(),
      out.topLogprobs?.data(),
    ]);
    return chunks.map((c, i) => {
      const k = c.topLogprobs ?? -1;
      if (k < 0) return { id: ids[i]! };
      const top = Array.from({ length: k }, (_, j) => ({ id: topIds![i * n + j]!, logprob: topLp![i * n + j]! }));
      return { id: ids[i]!, logprob: lp![i]!, top };
    });
  } finally {
    for (const t of [out.ids, out.logprob, out.topIds, out.topLogprobs]) t?.dispose();
  }
}

/**
 * What every engine does before a step: opens each chunk's sequence in `pool` when it is new and grows it to the
 * chunk's end; throws (naming `engine`, the sequence, and the context or the free blocks it lacks) otherwise.
 */
export function reserveChunks(
  pool: KvBlockPool,
  chunks: readonly StepChunk[],
  maxContext: number,
  engine: string,
): void {
  for (const c of chunks) {
    if (!pool.has(c.seq)) pool.open(c.seq);
    const end = c.start + c.ids.length;
    if (end > maxContext) {
      throw new Error(`${engine}.step: sequence ${c.seq} would reach ${end} positions, context is ${maxContext}`);
    }
    if (!pool.grow(c.seq, end)) {
      throw new Error(
        `${engine}.step: no free KV blocks for sequence ${c.seq} (${pool.freeBlocks} free of ${pool.numBlocks})`,
      );
    }
  }
}

/** An `Engine` over a `LlamaForCausalLM` with a paged KV cache. */
export class LlamaEngine implements Engine {
  readonly vocabSize: number;
  readonly maxSlots: number;
  readonly maxContext: number;
  /** The preallocated paged cache. */
  readonly cache: PagedKvCache;

  /** {@link Engine.cutIn}, with the `cutIns` option. */
  readonly cutIn?: (chunks: readonly StepChunk[]) => Promise<StepResult[]>;
  /** A step is running (cut-ins are taken only then). */
  private stepping = false;
  /** {@link LlamaEngineOptions.cutInLayersInFlight}. */
  private readonly layersInFlight: number;
  /** Cut-ins posted during the running step, run at its next layer boundary (or as it ends). */
  private readonly cutIns: {
    chunks: readonly StepChunk[];
    resolve: (r: StepResult[]) => void;
    reject: (e: unknown) => void;
  }[] = [];

  /** Allocates the KV pool at once, so memory use is known at startup. */
  constructor(
    readonly model: LlamaForCausalLM,
    options: LlamaEngineOptions,
  ) {
    this.layersInFlight = LayersInFlight.checkDepth(options.cutInLayersInFlight ?? Infinity);
    if (options.cutIns) {
      this.cutIn = (chunks) => {
        if (!this.stepping) return Promise.reject(new Error('LlamaEngine.cutIn: no step is running to cut into'));
        return new Promise((resolve, reject) => {
          this.cutIns.push({ chunks, resolve, reject });
          // Encoded as soon as the code that posted it yields (a step awaits the device at a boundary or for its
          // readback, never inside a tidy scope), in queue order after what the step has recorded so far: the device
          // runs it next without the step having to reach another boundary.
          if (this.cutIns.length === 1) queueMicrotask(() => this.runCutIns());
        });
      };
    }
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

  /** {@link Engine.step}, with the engine worker's {@link WorkerStepOptions}. */
  async step(chunks: readonly StepChunk[], options: WorkerStepOptions = {}): Promise<StepResult[]> {
    if (!this.cutIn || options.betweenLayers) return this.forward(chunks, options);
    this.stepping = true;
    // Posted cut-ins run at the step's awaits: at its layer boundaries when they pace it, else behind its draws.
    const layers = this.layersInFlight === Infinity ? undefined : new LayersInFlight(this.layersInFlight);
    try {
      return await this.forward(chunks, { ...options, betweenLayers: layers && (() => layers.boundary()) });
    } finally {
      this.stepping = false;
      // Any posted in the step's last synchronous stretch: now, before the scheduler plans a step without them.
      this.runCutIns();
    }
  }

  /**
   * Encodes each posted cut-in's forward and draws now, in queue order, and settles it when its readback arrives,
   * without waiting for that: the step goes on recording behind it (a wait here would drain the device).
   */
  private runCutIns(): void {
    for (let next = this.cutIns.shift(); next; next = this.cutIns.shift()) {
      this.forward(next.chunks).then(next.resolve, next.reject);
    }
  }

  private async forward(chunks: readonly StepChunk[], options: WorkerStepOptions = {}): Promise<StepResult[]> {
    reserveChunks(this.cache.pool, chunks, this.maxContext, 'LlamaEngine');
    const { betweenLayers, commit } = options;
    // A sampled chunk keeps its row whatever skipLogits says (see rowsOf).
    const paged = chunks.map((c) => (c.sample && c.skipLogits ? { ...c, skipLogits: false } : c));
    const all = betweenLayers
      ? await forwardPagedBetweenLayers(this.model, paged, this.cache, betweenLayers, { commit })
      : forwardPaged(this.model, paged, this.cache, { commit });
    options.onForward?.();
    try {
      // Row layout of `all`: per chunk its last position, every position with allLogits, none when skipped.
      const sampled: number[] = [];
      const logitRows: number[] = [];
      let row = 0;
      for (const c of chunks) {
        const n = rowsOf(c);
        if (c.sample) sampled.push(row + n - 1);
        if (wantsLogits(c)) for (let r = 0; r < n; r++) logitRows.push(row + r);
        row += n;
      }
      const out: StepResult[] = chunks.map(() => ({}));
      if (sampled.length > 0) {
        const rows = pickRows(all, sampled);
        let tokens: SampledRow[];
        try {
          tokens = await drawTokens(
            rows,
            chunks.filter((c) => c.sample),
          );
        } finally {
          if (rows !== all) rows.dispose();
        }
        let t = 0;
        chunks.forEach((c, i) => {
          if (c.sample) out[i]!.token = tokens[t++]!;
        });
      }
      if (logitRows.length > 0) {
        const v = this.vocabSize;
        const flat = await readRows(pickRows(all, logitRows), all);
        let at = 0;
        chunks.forEach((c, i) => {
          if (!wantsLogits(c)) return;
          const n = c.allLogits ? c.ids.length : 1;
          out[i]!.logits = flat.subarray(at * v, (at + n) * v);
          at += n;
        });
      }
      return out;
    } finally {
      all.dispose();
    }
  }

  release(seq: number): void {
    if (this.cache.pool.has(seq)) this.cache.pool.close(seq);
  }

  dispose(): void {
    this.cache.dispose();
  }
}
