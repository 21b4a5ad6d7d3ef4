/**
 * An `Engine` whose model runs in a worker thread, so that the HTTP side (parsing requests, tokenizing, writing SSE
 * events) never waits for a step: on the CPU backend a step is synchronous WebAssembly, and with the model on the
 * main thread a request that arrived during a step was not even read until the step ended (the event loop's delay
 * reached the length of a step; half of a client's time to first token at 16 clients was spent there).
 *
 * Only token ids cross the thread boundary. The block bookkeeping stays here, in a `KvBlockPool` that records every
 * change (open, grow, close); each step message carries the changes made since the last one, and the worker replays
 * them on its own pool before running the step, so both pools hold the same block tables and prefix cache (the pool
 * is deterministic). Commits are such changes too: this side commits a step's chunks when the step comes back, and
 * the worker's forward leaves its pool to replay that commit in this side's order.
 *
 * @module
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { LoadDtype } from '@andes/checkpoint';
import { KvBlockPool, type LlamaConfig } from '@andes/nn';
import type { BackendName } from '@andes/tensor';
import type { Engine, KvBlocks, StepChunk, StepResult } from './engine.js';
import { type LlamaEngineOptions, reserveChunks } from './llama-engine.js';

/** Where the worker gets its model: a model path (as `loadServedModel` takes), or weights already in memory. */
export type EngineSource =
  | { kind: 'path'; path: string; dtype?: LoadDtype; lora?: string }
  | { kind: 'weights'; config: LlamaConfig; tensors: [name: string, shape: number[], data: Float32Array][] };

/** What the worker starts from. */
export interface EngineWorkerInit {
  backend: BackendName;
  source: EngineSource;
  engine: LlamaEngineOptions;
  /** Threads per CPU product in this worker (`setCpuThreads`); undefined keeps the default (`ANDES_CPU_THREADS`). */
  cpuThreads?: number;
  /**
   * Where cut-ins arrive (see `Engine.cutIn`): the worker reads this port between the layers of a step, without
   * returning to its event loop (`receiveMessageOnPort`). Absent: no cut-ins.
   */
  cutInPort?: MessagePort;
  /**
   * Nice levels (1–19) the worker's thread goes below the process's priority before it loads the model, so that the
   * main thread's HTTP work and a new request's admission preempt the step. Linux only (nice is per thread there, and
   * the CPU helper threads, which the worker starts, inherit it); elsewhere, and with 0 or undefined, the worker keeps
   * the process's priority.
   */
  computeNice?: number;
  /** Nice levels (0–19) its CPU helper threads go below the worker's own thread (`setCpuHelperNice`). */
  helperNice?: number;
}

/** A cut-in on its port: the pool changes since the last message, then the chunks. */
export interface CutInMessage {
  /**
   * Steps posted before it. Its pool changes follow theirs, so the worker runs it only once it has replayed that
   * many steps' changes (a cut-in can reach the worker before the step posted just ahead of it on the other port).
   */
  afterSteps: number;
  ops: PoolOp[];
  chunks: readonly StepChunk[];
}

/** A block-pool change the worker replays, in order. */
export type PoolOp =
  | { op: 'open'; id: number; tokens: number[]; maxReuse: number }
  | { op: 'grow'; id: number; positions: number }
  | { op: 'close'; id: number }
  | { op: 'commit'; id: number; start: number; ids: readonly number[] };

/**
 * Messages to the worker. `drain`: a cut-in was posted; run it now if no step is running (a running step reads it
 * between its layers, or right after it ends).
 */
export type ToEngineWorker =
  | { type: 'step'; ops: PoolOp[]; chunks: readonly StepChunk[] }
  | { type: 'drain' }
  | { type: 'dispose' };

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
  | {
      type: 'step' | 'cut-in';
      results: StepResult[];
      /** The first reply of its forward (cut-ins waiting together run as one forward, replying one by one). */
      opensForward: boolean;
    }
  | { type: 'step-error' | 'cut-in-error'; message: string; committed: boolean[] }
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

  // Commits too: they register blocks for prefix sharing, and registrations do not commute with admissions, so the
  // worker follows this pool's order of both (a cut-in's reply can come back after a step that it ran inside).
  override commit(id: number, start: number, ids: readonly number[]): void {
    super.commit(id, start, ids);
    this.ops.push({ op: 'commit', id, start, ids: [...ids] });
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

/** A reply the main thread awaits. */
interface Pending {
  resolve: (m: FromEngineWorker) => void;
  reject: (e: Error) => void;
}

/** An `Engine` over a `LlamaEngine` in a worker thread (see the module comment). */
export class WorkerEngine implements Engine {
  private pending: Pending | null = null;
  /** Cut-ins posted and not yet answered, oldest first (the worker runs them, and replies, in that order). */
  private readonly pendingCutIns: Pending[] = [];
  /** Step messages posted so far (see `CutInMessage.afterSteps`). */
  private stepsPosted = 0;
  private failure: Error | null = null;
  private readonly pool: RecordingPool;

  private constructor(
    private readonly worker: Worker,
    ready: EngineWorkerReady,
    private readonly cutInPort: MessagePort | null,
  ) {
    this.vocabSize = ready.vocabSize;
    this.maxSlots = ready.maxSlots;
    this.maxContext = ready.maxContext;
    this.pool = new RecordingPool(ready.numBlocks, ready.blockSize);
    if (cutInPort) this.cutIn = (chunks) => this.runCutIn(chunks);
    // Steps and cut-ins reply on this one port, in the order the worker committed them (this side commits alike).
    worker.on('message', (m: FromEngineWorker) => {
      const cutIn = m.type === 'cut-in' || m.type === 'cut-in-error';
      if (m.type === 'cut-in') {
        this.cutInCounts.cutIns++;
        if (m.opensForward) this.cutInCounts.forwards++;
      }
      const p = cutIn ? this.pendingCutIns.shift() : this.pending;
      if (!cutIn) this.pending = null;
      p?.resolve(m);
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const p of [this.pending, ...this.pendingCutIns.splice(0)]) p?.reject(e);
      this.pending = null;
    };
    worker.on('error', (e) => fail(new Error(`WorkerEngine: the engine worker failed: ${e.message}`)));
    worker.on('exit', (code) => fail(new Error(`WorkerEngine: the engine worker exited (code ${code})`)));
  }

  readonly vocabSize: number;
  readonly maxSlots: number;
  readonly maxContext: number;
  readonly stepsOffThread = true;
  /**
   * Cut-ins answered, and the forwards that ran them: the worker runs the cut-ins waiting at one layer boundary as
   * one forward, so `forwards` ≤ `cutIns` (diagnostics; the benchmarks and tests read it).
   */
  readonly cutInCounts = { cutIns: 0, forwards: 0 };
  /** {@link Engine.cutIn}, when the worker was created with a cut-in port (`WorkerEngine.create`'s `cutIns`). */
  readonly cutIn?: (chunks: readonly StepChunk[]) => Promise<StepResult[]>;

  /** Starts a worker, loads the model there and allocates its KV cache; resolves once it is ready. */
  static async create(init: EngineWorkerInit, options: { cutIns?: boolean } = {}): Promise<WorkerEngine> {
    const channel = options.cutIns ? new MessageChannel() : null;
    const worker = new Worker(workerScript(), {
      workerData: channel ? { ...init, cutInPort: channel.port2 } : init,
      transferList: channel ? [channel.port2] : [],
    });
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
    channel?.port1.unref();
    return new WorkerEngine(worker, ready, channel?.port1 ?? null);
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
      this.stepsPosted++;
      const ops = pool.takeOps();
      this.worker.postMessage({ type: 'step', ops, chunks } satisfies ToEngineWorker);
    }).finally(() => this.worker.unref());
    return this.settle('step', chunks, reply);
  }

  /**
   * {@link Engine.cutIn}: the chunks go to the worker's cut-in port with the pool changes made since the running
   * step was posted (admitting them), and the worker runs them at its next layer boundary.
   */
  private async runCutIn(chunks: readonly StepChunk[]): Promise<StepResult[]> {
    if (this.failure) throw this.failure;
    if (!this.pending) throw new Error('WorkerEngine.cutIn: no step is running to cut into');
    const pool = this.pool;
    reserveChunks(pool, chunks, this.maxContext, 'WorkerEngine');
    const reply = await new Promise<FromEngineWorker>((resolve, reject) => {
      this.pendingCutIns.push({ resolve, reject });
      const ops = pool.takeOps();
      this.cutInPort!.postMessage({ afterSteps: this.stepsPosted, ops, chunks } satisfies CutInMessage);
      // In case the running step has ended before it read the port: the worker then runs the cut-in on this.
      this.worker.postMessage({ type: 'drain' } satisfies ToEngineWorker);
    });
    return this.settle('cut-in', chunks, reply);
  }

  /** A reply's results, committing its chunks here as the worker did (only those it committed, on an error). */
  private settle(kind: 'step' | 'cut-in', chunks: readonly StepChunk[], reply: FromEngineWorker): StepResult[] {
    const pool = this.pool;
    if ((reply.type === 'step' || reply.type === 'cut-in') && reply.type === kind) {
      for (const c of chunks) pool.commit(c.seq, c.start, c.ids);
      return reply.results;
    }
    if ((reply.type === 'step-error' || reply.type === 'cut-in-error') && reply.type === `${kind}-error`) {
      // Commit exactly what the worker's pool committed, so the two stay equal.
      chunks.forEach((c, i) => {
        if (reply.committed[i]) pool.commit(c.seq, c.start, c.ids);
      });
      throw new Error(reply.message);
    }
    throw new Error(`WorkerEngine.${kind}: unexpected reply '${reply.type}' from the engine worker`);
  }

  release(seq: number): void {
    if (this.pool.has(seq)) this.pool.close(seq);
  }

  dispose(): void {
    if (!this.failure) this.worker.postMessage({ type: 'dispose' } satisfies ToEngineWorker);
    this.failure ??= new Error('WorkerEngine: disposed');
  }
}
