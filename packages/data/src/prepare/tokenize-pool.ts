import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadTokenizer } from '@andes/tokenizer';
import { type EncodedBatch, encodeBatch } from './encode-batch.js';

/** The compiled worker script; under a test runner that loads `src/*.ts`, the built copy in `dist/`. */
function workerScript(): string {
  const here = fileURLToPath(new URL('./tokenize-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = here.replace(/[\\/]src[\\/]prepare[\\/]/, '/dist/prepare/');
  if (!existsSync(built)) throw new Error(`TokenizePool: ${built} is missing: build @andes/data first`);
  return built;
}

interface Pending {
  resolve: (batch: EncodedBatch) => void;
  reject: (err: Error) => void;
}

/**
 * Tokenizes batches of texts on `workers` worker threads, each with its own copy of the tokenizer loaded from a
 * file; with 0 workers, on the calling thread. Batches may finish out of order; callers keep their own order.
 */
export class TokenizePool {
  private readonly pending = new Map<number, Pending>();
  private readonly busy: number[];
  private nextId = 0;

  private constructor(
    private readonly workers: Worker[],
    private readonly local: Awaited<ReturnType<typeof loadTokenizer>> | null,
  ) {
    this.busy = workers.map(() => 0);
    workers.forEach((w, i) => {
      w.on('message', (m: { id: number } & EncodedBatch) => {
        this.busy[i]!--;
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve({ tokens: m.tokens, lengths: m.lengths });
      });
      w.on('error', (err) => this.failAll(err));
    });
  }

  /**
   * Starts `workers` threads (0: tokenize on this thread) that load the tokenizer at `tokenizerPath`; `loaded`, the
   * same tokenizer already in memory, spares loading it again on this thread.
   */
  static async create(
    tokenizerPath: string,
    workers: number,
    loaded?: Awaited<ReturnType<typeof loadTokenizer>>,
  ): Promise<TokenizePool> {
    if (!Number.isInteger(workers) || workers < 0) throw new Error(`TokenizePool: workers must be ≥ 0, got ${workers}`);
    if (workers === 0) return new TokenizePool([], loaded ?? (await loadTokenizer(tokenizerPath)));
    const script = workerScript();
    const started = Array.from({ length: workers }, () => new Worker(script, { workerData: { tokenizerPath } }));
    await Promise.all(
      started.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('error', (err) => reject(new Error(`tokenizer worker failed to start: ${err.message}`)));
          }),
      ),
    );
    return new TokenizePool(started, null);
  }

  /** Threads in the pool (0: on the calling thread). */
  get size(): number {
    return this.workers.length;
  }

  /** Token ids of `texts` (no BOS/EOS), back to back, with each text's length. */
  encode(texts: string[]): Promise<EncodedBatch> {
    if (this.local) return Promise.resolve(encodeBatch(this.local, texts));
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.busy[i]! < this.busy[w]!) w = i;
    const id = this.nextId++;
    this.busy[w]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[w]!.postMessage({ id, texts });
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(new Error(`tokenizer worker failed: ${err.message}`));
    this.pending.clear();
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
