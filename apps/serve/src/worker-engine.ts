/**
 * An `Engine` whose model runs in a worker thread, so that the HTTP side (parsing requests, tokenizing, writing SSE
 * events) never waits for a step: on the CPU backend a step is synchronous WebAssembly, and with the model on the
 * main thread a request that arrived during a step was not even read until the step ended (the event loop's delay
 * reached the length of a step; half of a client's time to first token at 16 clients was spent there).
 *
 * Only token ids cross the thread boundary. The block bookkeeping stays here, in a `KvBlockPool` that records every
 * change (open, grow, close); each step message carries the changes made since the last one, and the worker replays
 * them on its own pool before running the step, so both pools hold the same block tables and prefix cache (the pool
 * is deterministic). The worker commits a step's positions in its forward; this side commits the same chunks when
 * the step comes back.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import type { WeightDtype } from '@andes/checkpoint';
import { KvBlockPool, type LlamaConfig } from '@andes/nn';
import type { BackendName } from '@andes/tensor';
import type { Engine, KvBlocks, StepChunk, StepResult } from './engine.js';
import { type LlamaEngineOptions, reserveChunks } from './llama-engine.js';

/** Where the worker gets its model: a model path (as `loadServedModel` takes), or weights already in memory. */
export type EngineSource =
  | { kind: 'path'; path: string; dtype?: WeightDtype; lora?: string }
  | { kind: 'weights'; config: LlamaConfig; tensors: [name: string, shape: number[], data: Float32Array][] };

/** What the worker starts from. */
export interface EngineWorkerInit {
  backend: BackendName;
  source: EngineSource;
  engine: LlamaEngineOptions;
  /** Threads per CPU product in this worker (`setCpuThreads`); undefined keeps the default (`ANDES_CPU_THREADS`). */
  cpuThreads?: number;
}

/** A block-pool change the worker replays, in order. */
export type PoolOp =
  | { op: 'open'; id: number; tokens: number[]; maxReuse: number }
  | { op: 'grow'; id: number; positions: number }
  | { op: 'close'; id: number };

/** Messages to the worker. */
export type ToEngineWorker = { type: 'step'; ops: PoolOp[]; chunks: readonly StepChunk[] } | { type: 'dispose' };

/** The engine's sizes, reported once the worker has loaded the model. */
export interface EngineWorkerReady {
  type: 'ready';
  vocabSize: number;
  maxSlots: number;
  maxContext: number;
  numBlocks: number;
  blockSize: number;
}

/** Messages from the worker: ready, a step's results, or a step's failure (with the chunks it committed). */
export type FromEngineWorker =
  | EngineWorkerReady
  | { type: 'step'; results: StepResult[] }
  | { type: 'step-error'; message: string; committed: boolean[] }
  | { type: 'load-error'; message: string };

/** A `KvBlockPool` that records its changes for the worker's copy. */
class RecordingPool extends KvBlockPool {
  private ops: PoolOp[] = [];

  override open(id: number, tokens: readonly number[] = [], maxReuse = tokens.length): number {
    const reused = super.open(id, tokens, maxReuse);
    this.ops.push({ op: 'open', id, tokens: [...tokens], maxReuse });
    return reused;
  }

  override grow(id: number, positions: number): boolean {
    if (!super.grow(id, positions)) return false; // a refused grow changes nothing
    this.ops.push({ op: 'grow', id, positions });
    return true;
  }

  override close(id: number): void {
    super.close(id);
    this.ops.push({ op: 'close', id });
  }

  /** The changes since the last call. */
  takeOps(): PoolOp[] {
    const ops = this.ops;
    this.ops = [];
    return ops;
  }
}

/**
 * The worker's script: the compiled `engine-worker.js` beside this module (from the TypeScript sources, as in the
 * tests, the compiled one in `dist/`: a worker cannot run `.ts`).
 */
function workerScript(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../dist/engine-worker.js', here) : new URL('./engine-worker.js', here);
}

/** An `Engine` over a `LlamaEngine` in a worker thread (see the module comment). */
export class WorkerEngine implements Engine {
  private pending: { resolve: (m: FromEngineWorker) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private readonly pool: RecordingPool;

  private constructor(
    private readonly worker: Worker,
    ready: EngineWorkerReady,
  ) {
    this.vocabSize = ready.vocabSize;
    this.maxSlots = ready.maxSlots;
    this.maxContext = ready.maxContext;
    this.pool = new RecordingPool(ready.numBlocks, ready.blockSize);
    worker.on('message', (m: FromEngineWorker) => {
      const p = this.pending;
      this.pending = null;
      p?.resolve(m);
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      const p = this.pending;
      this.pending = null;
      p?.reject(e);
    };
    worker.on('error', (e) => fail(new Error(`WorkerEngine: the engine worker failed: ${e.message}`)));
    worker.on('exit', (code) => fail(new Error(`WorkerEngine: the engine worker exited (code ${code})`)));
  }

  readonly vocabSize: number;
  readonly maxSlots: number;
  readonly maxContext: number;
  readonly stepsOffThread = true;

  /** Starts a worker, loads the model there and allocates its KV cache; resolves once it is ready. */
  static async create(init: EngineWorkerInit): Promise<WorkerEngine> {
    const worker = new Worker(workerScript(), { workerData: init });
    // The server's lifetime is the HTTP listener's: an idle engine worker must not keep the process alive.
    worker.unref();
    let onMessage!: (m: FromEngineWorker) => void;
    let onError!: (e: Error) => void;
    let onExit!: (code: number) => void;
    const ready = await new Promise<EngineWorkerReady>((resolve, reject) => {
      onMessage = (m) => {
        if (m.type === 'ready') resolve(m);
        else reject(new Error(`WorkerEngine: ${m.type === 'load-error' ? m.message : `unexpected ${m.type}`}`));
      };
      onError = (e) => reject(new Error(`WorkerEngine: the engine worker failed to start: ${e.message}`));
      onExit = (code) => reject(new Error(`WorkerEngine: the engine worker exited (code ${code}) before it was ready`));
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    }).finally(() => {
      // Only these: the Worker's own listeners (which start its message port) must stay.
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    });
    return new WorkerEngine(worker, ready);
  }

  get blocks(): KvBlocks {
    return this.pool;
  }

  async step(chunks: readonly StepChunk[]): Promise<StepResult[]> {
    if (this.failure) throw this.failure;
    if (this.pending) throw new Error('WorkerEngine.step: a step is already running (steps do not overlap)');
    const pool = this.pool;
    // The same checks and reservations as LlamaEngine.step, made here so that the worker replays them.
    reserveChunks(pool, chunks, this.maxContext, 'WorkerEngine');
    // Referenced while a step runs (a caller awaiting it keeps the process alive), unreferenced when idle.
    this.worker.ref();
    const reply = await new Promise<FromEngineWorker>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage({ type: 'step', ops: pool.takeOps(), chunks } satisfies ToEngineWorker);
    }).finally(() => this.worker.unref());
    if (reply.type === 'step') {
      for (const c of chunks) pool.commit(c.seq, c.start, c.ids);
      return reply.results;
    }
    if (reply.type === 'step-error') {
      // Commit exactly what the worker's pool committed, so the two stay equal.
      chunks.forEach((c, i) => {
        if (reply.committed[i]) pool.commit(c.seq, c.start, c.ids);
      });
      throw new Error(reply.message);
    }
    throw new Error(`WorkerEngine.step: unexpected reply '${reply.type}' from the engine worker`);
  }

  release(seq: number): void {
    if (this.pool.has(seq)) this.pool.close(seq);
  }

  dispose(): void {
    if (!this.failure) this.worker.postMessage({ type: 'dispose' } satisfies ToEngineWorker);
    this.failure ??= new Error('WorkerEngine: disposed');
  }
}
