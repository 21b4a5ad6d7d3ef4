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
import { concat, getBackend, type HalfDType, noGrad, sync, type Tensor, tensor, tidy } from '@andes/tensor';
import type { Engine, KvBlocks, StepChunk, StepResult } from './engine.js';
import { drawStep, withSampledRows } from './step-draws.js';

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

/** Element types of the KV cache (`--kv-dtype`). */
export type KvDtype = 'float32' | HalfDType;

/** The `--kv-dtype` name of each KV element type (ggml's names, as `--dtype` uses). */
export const KV_DTYPE_NAMES: Readonly<Record<KvDtype, string>> = { float32: 'f32', float16: 'f16', bfloat16: 'bf16' };

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
   * Element type of the KV cache (default float32). float16 / bfloat16 halve its bytes per position, so a budget
   * holds twice the blocks; keys and values are rounded to nearest even as they are written.
   */
  kvDtype?: KvDtype;
  /**
   * Offer `Engine.cutIn` (default false) for steps on this thread whose device work runs apart from it (WebGPU): a
   * cut-in posted while a step runs is recorded at once, behind what the step has recorded so far; until the step
   * records its output projection, the cut-in's rows join that projection and the step's draws (its first token
   * comes with the step's tokens), later it runs whole right behind the step. A new prompt then waits for the
   * step's work instead of the whole step and then a step of its own.
   */
  cutIns?: boolean;
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
  dtype: KvDtype = 'float32',
): number {
  const perContext = Math.ceil(context / blockSize);
  if (budget === undefined) return slots * perContext;
  const perBlock = PagedKvCache.bytesPerBlock(model.config, blockSize, dtype);
  const fit = Math.floor(budget / perBlock);
  if (fit < perContext) {
    throw new Error(
      `LlamaEngine: one context of ${context} positions needs ${perContext} KV blocks of ${perBlock} bytes, more than ` +
        `the budget of ${budget} bytes; lower --context`,
    );
  }
  return fit;
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

/** A cut-in posted during a step, waiting for the step to record it. */
interface PostedCutIn {
  chunks: readonly StepChunk[];
  resolve: (r: StepResult[]) => void;
  reject: (e: unknown) => void;
}

/** A cut-in whose layers are recorded behind the step's: its rows' final hidden states wait for the step's head. */
interface JoiningCutIn extends PostedCutIn {
  hidden: Tensor;
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
  /** The running step has recorded its output projection: a cut-in now runs whole, behind it. */
  private headRecorded = false;
  /** Cut-ins posted and not recorded yet (they are at the next microtask). */
  private readonly cutIns: PostedCutIn[] = [];
  /** Cut-ins recorded behind the running step's layers, whose rows join its output projection and draws. */
  private readonly joining: JoiningCutIn[] = [];

  /** Allocates the KV pool at once, so memory use is known at startup. */
  constructor(
    readonly model: LlamaForCausalLM,
    options: LlamaEngineOptions,
  ) {
    if (options.cutIns) {
      this.cutIn = (chunks) => {
        if (!this.stepping) return Promise.reject(new Error('LlamaEngine.cutIn: no step is running to cut into'));
        return new Promise((resolve, reject) => {
          this.cutIns.push({ chunks, resolve, reject });
          // Recorded as soon as the code that posted it yields (the step awaits the device, never inside a tidy
          // scope), behind what the step has recorded so far.
          if (this.cutIns.length === 1) queueMicrotask(() => this.runCutIns());
        });
      };
    }
    this.vocabSize = model.config.vocab_size;
    this.maxContext = Math.min(options.maxContext ?? Infinity, model.config.max_position_embeddings);
    this.maxSlots = options.maxSlots;
    const blockSize = options.blockSize ?? 16;
    const dtype = options.kvDtype ?? 'float32';
    const numBlocks = blocksWithinBudget(
      model,
      this.maxSlots,
      this.maxContext,
      blockSize,
      options.kvBudgetBytes,
      dtype,
    );
    this.cache = new PagedKvCache(model.config, { numBlocks, blockSize, dtype });
  }

  get blocks(): KvBlocks {
    return this.cache.pool;
  }

  /** {@link Engine.step}, with the engine worker's {@link WorkerStepOptions}. */
  async step(chunks: readonly StepChunk[], options: WorkerStepOptions = {}): Promise<StepResult[]> {
    if (!this.cutIn || options.betweenLayers) return this.forward(chunks, options);
    this.stepping = true;
    this.headRecorded = false;
    try {
      return await this.stepWithCutIns(chunks, options);
    } finally {
      this.stepping = false;
      // Any posted in the step's last synchronous stretch: now, before the scheduler plans a step without them.
      this.runCutIns();
    }
  }

  /**
   * A step that takes cut-ins: records its layers at once, then waits until the device has finished all but its last
   * layer (the one wait: the host yields there, so prompts that arrived meanwhile are posted, while the device still
   * has the last layer to run). A cut-in posted before the step records its output projection has its layers recorded
   * behind the step's, and its rows join the step's projection and draws. Why not a boundary between every two
   * layers: on lavapipe each wait for the device cost ~1 ms of a 60-ms 16-row step whether it drained the queue or
   * left one or two layers in it, and a cut-in's own output projection and draws cost a fifth of the 16-client
   * throughput; its rows in the step's projection cost about what they cost in the next step
   * (apps/serve/BENCHMARKS.md, lvp3).
   */
  private async stepWithCutIns(chunks: readonly StepChunk[], options: WorkerStepOptions): Promise<StepResult[]> {
    const n = this.model.config.num_hidden_layers;
    let boundary = 0;
    let beforeLast: Promise<void> | undefined;
    const between = () => {
      boundary++;
      if (boundary === n - 1) {
        // Submits all but the last layer; awaited at the last boundary (a failure surfaces there or at the draws).
        beforeLast = sync();
        beforeLast.catch(() => {});
      }
      if (boundary !== n) return undefined;
      // The last layer goes to the device before the wait, so that it runs while the host waits and then records.
      getBackend().flush();
      return beforeLast ?? sync();
    };
    let hidden: Tensor;
    try {
      reserveChunks(this.cache.pool, chunks, this.maxContext, 'LlamaEngine');
      const paged = withSampledRows(chunks);
      hidden = await forwardPagedBetweenLayers(this.model, paged, this.cache, between, {
        commit: options.commit,
        head: false,
      });
    } catch (e) {
      this.headRecorded = true;
      for (const j of this.joining.splice(0)) this.finishAlone(j);
      throw e;
    }
    this.runCutIns();
    const joining = this.joining.splice(0);
    this.headRecorded = true;
    const allChunks = [...chunks, ...joining.flatMap((j) => j.chunks)];
    let results: StepResult[];
    try {
      const all = this.head([hidden, ...joining.map((j) => j.hidden)]);
      options.onForward?.();
      results = await drawStep(all, allChunks, this.vocabSize);
    } catch (e) {
      for (const j of joining) j.reject(e);
      throw e;
    }
    let at = chunks.length;
    for (const j of joining) {
      j.resolve(results.slice(at, at + j.chunks.length));
      at += j.chunks.length;
    }
    return results.slice(0, chunks.length);
  }

  /**
   * Records each posted cut-in: behind the running step's layers to join its output projection while the step has not
   * recorded that yet, else whole (its own projection and draws, behind the step's). Settles each when its readback
   * arrives, without waiting for that: a wait here would drain the device.
   */
  private runCutIns(): void {
    for (let next = this.cutIns.shift(); next; next = this.cutIns.shift()) {
      if (!this.stepping || this.headRecorded) {
        this.forward(next.chunks).then(next.resolve, next.reject);
        continue;
      }
      try {
        reserveChunks(this.cache.pool, next.chunks, this.maxContext, 'LlamaEngine');
        const hidden = forwardPaged(this.model, withSampledRows(next.chunks), this.cache, { head: false });
        this.joining.push({ ...next, hidden });
      } catch (e) {
        next.reject(e);
      }
    }
  }

  /** A joining cut-in whose step failed: its own output projection and draws. */
  private finishAlone(j: JoiningCutIn): void {
    drawStep(this.head([j.hidden]), j.chunks, this.vocabSize).then(j.resolve, j.reject);
  }

  /** Logits `[R, V]` of the final hidden rows of one or more forwards, through one output projection; frees `rows`. */
  private head(rows: readonly Tensor[]): Tensor {
    try {
      // A prompt chunk before its last has no rows (skipLogits).
      const parts = rows.filter((t) => t.shape[0]! > 0);
      if (parts.length === 0) return tensor(new Float32Array(0), [0, this.vocabSize]);
      return noGrad(() =>
        tidy(() => this.model.logits(parts.length === 1 ? parts[0]! : concat(parts, 0)).reshape([-1, this.vocabSize])),
      );
    } finally {
      for (const t of rows) t.dispose();
    }
  }

  private async forward(chunks: readonly StepChunk[], options: WorkerStepOptions = {}): Promise<StepResult[]> {
    reserveChunks(this.cache.pool, chunks, this.maxContext, 'LlamaEngine');
    const { betweenLayers, commit } = options;
    const paged = withSampledRows(chunks);
    const all = betweenLayers
      ? await forwardPagedBetweenLayers(this.model, paged, this.cache, betweenLayers, { commit })
      : forwardPaged(this.model, paged, this.cache, { commit });
    options.onForward?.();
    return drawStep(all, chunks, this.vocabSize);
  }

  release(seq: number): void {
    if (this.cache.pool.has(seq)) this.cache.pool.close(seq);
  }

  dispose(): void {
    this.cache.dispose();
  }
}
