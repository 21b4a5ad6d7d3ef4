/**
 * What a deployment needs around the API: request ids (accepted from `X-Request-Id`, else generated; returned in
 * the `X-Request-Id` response header and logged as `request_id` on every line of the request), readiness
 * (`GET /ready`: 200 only once the model is loaded and warmed, 503 while loading, after a failed load and while
 * draining; `/health` stays the liveness check), per-key rate limits (429 + `Retry-After`), and the warm-up run
 * before readiness.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { getBackend } from '@andes/tensor';
import { type FastifyInstance, LogController } from 'fastify';
import type { Engine } from './engine.js';
import { errorBody } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import { DEFAULT_PREFILL_CHUNK } from './prefill-budget.js';
import { rateLimitKey, type TokenBucketLimiter } from './rate-limit.js';

/** Ids a client may choose: short and log-safe (no spaces, quotes or control characters). */
const CLIENT_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request id of an incoming request: the client's `X-Request-Id` when log-safe, else a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && CLIENT_ID.test(given) ? given : randomUUID();
}

/** Fastify constructor options that make `request.id` the request id and log it as `request_id`. */
export function requestIdOptions() {
  return { genReqId: requestIdOf, logController: new LogController({ requestIdLogLabel: 'request_id' }) };
}

/** Loading state that `/ready` reports. */
export interface ReadinessState {
  /** Model loaded and warm-up done. */
  warmed(): boolean;
  loadError(): Error | null;
  draining(): boolean;
}

/** Settings of {@link registerOperations}. */
export interface OperationsOptions {
  readiness: ReadinessState;
  metrics: ServeMetrics;
  /** Per-key limiter for the routes that match `limited` (none when absent). */
  limiter?: TokenBucketLimiter;
  limited: RegExp;
}

/** Registers the request-id header, the rate-limit hook and `GET /ready`. */
export function registerOperations(app: FastifyInstance, options: OperationsOptions): void {
  app.addHook('onRequest', async (request, reply) => {
    // On the raw response, so it also reaches streams that write their own head (SSE).
    reply.raw.setHeader('x-request-id', request.id);
    const limiter = options.limiter;
    if (!limiter || !options.limited.test(request.url)) return;
    const decision = limiter.take(rateLimitKey(request.headers.authorization, request.ip));
    if (decision.allowed) return;
    options.metrics.rateLimited.inc();
    request.log.info({ retry_after_s: decision.retryAfterSeconds }, 'rate limited');
    return reply
      .code(429)
      .header('retry-after', String(decision.retryAfterSeconds))
      .send(
        errorBody(429, `Rate limit reached for this API key; retry in ${decision.retryAfterSeconds} s.`, {
          type: 'rate_limit_error',
          code: 'rate_limit_exceeded',
        }),
      );
  });

  app.get('/ready', async (_request, reply) => {
    const { readiness } = options;
    if (readiness.loadError()) return reply.code(503).send({ status: 'error' });
    if (readiness.draining()) return reply.code(503).send({ status: 'draining' });
    if (!readiness.warmed()) return reply.code(503).send({ status: 'loading' });
    return { status: 'ready' };
  });
}

/** What a server runs before `/ready` (`--warm-up`): see {@link WarmUpOptions.batch}. */
export const WARM_UP_MODES = ['auto', 'sizes', 'short'] as const;
/** One of {@link WARM_UP_MODES}: `sizes` sets `batch`, `short` clears it, `auto` leaves the backend's default. */
export type WarmUpMode = (typeof WARM_UP_MODES)[number];

/** Whether `value` names a {@link WarmUpMode}. */
export function isWarmUpMode(value: string): value is WarmUpMode {
  return (WARM_UP_MODES as readonly string[]).includes(value);
}

/** Options of {@link warmUp}. */
export interface WarmUpOptions {
  /**
   * Also run steps of every size class a server's steps fall in (default: on WebGPU, where a step of a new size
   * compiles kernels and races the autotuner's candidates on first use, 30–300 ms per kernel on lavapipe, inside
   * whichever request's step met it first; not on the CPU, where nothing is compiled and large steps only cost time).
   */
  batch?: boolean;
  /**
   * The most rows one step may hold (prompt rows plus decodes): the scheduler's prefill chunk plus the largest batch.
   * Default 512 + `engine.maxSlots` (andes-serve's default `--prefill-chunk`).
   */
  maxRows?: number;
}

/**
 * Runs one short prefill and two decode steps of a throw-away sequence and frees it, so that first requests do not
 * pay for compiling kernels or (CPU) moving weights into the kernels' memory, which happens on a weight's second use;
 * with `batch`, then the smallest step of every power-of-two size class of rows up to `maxRows` and of sequences up
 * to the batch (a decode step after), drawing their tokens on the device as requests do, so that every size class a
 * request can meet is compiled and tuned before the server says it is ready.
 */
export async function warmUp(engine: Engine, options: WarmUpOptions = {}): Promise<void> {
  const seq = -1; // the scheduler numbers its sequences from 0
  const ids = [0, 1, 2].slice(0, Math.max(1, engine.maxContext - 2)).map((i) => i % engine.vocabSize);
  try {
    await engine.step([{ seq, ids, start: 0 }]);
    for (let step = 0; step < 2 && ids.length + step < engine.maxContext; step++) {
      await engine.step([{ seq, ids: [ids[0]!], start: ids.length + step }]);
    }
  } finally {
    engine.release(seq);
  }
  if (options.batch ?? getBackend().name !== 'cpu') {
    await warmUpSizes(engine, options.maxRows ?? DEFAULT_PREFILL_CHUNK + engine.maxSlots);
  }
}

/**
 * The smallest member of every size class (power-of-two bucket: 1, 2, 3–4, 5–8, …) that holds a number ≤ `n`: 1, 2,
 * 3, 5, 9, …, the cheapest step that compiles and tunes what the class's other sizes run.
 */
function sizeClasses(n: number): number[] {
  const out: number[] = [];
  for (let m = 1; m <= n; m = m === 1 ? 2 : 2 * m - 1) out.push(m);
  return out;
}

/**
 * {@link warmUp}'s size sweep. Rows: one step per size class of a step's rows (layers' products, attention, norms),
 * its prompt split over as few sequences as the context allows. Sequences: one prefill step of 1-token prompts per
 * size class of the batch (the output projection and the draws see one row per sequence), then a decode step. Each
 * class runs its smallest size (a fitted kernel compiles all its shapes on first use, tensor's matmul); every token
 * is drawn (temperature 1). A size the free blocks or the batch cannot hold is skipped: no request reaches it either.
 */
async function warmUpSizes(engine: Engine, maxRows: number): Promise<void> {
  const { blocks } = engine;
  const perSeq = engine.maxContext - 1;
  if (perSeq < 2) return;
  const vocab = engine.vocabSize;
  const run = async (lengths: number[], decode: boolean) => {
    const need = lengths.reduce((sum, n) => sum + blocks.blocksFor(n + 1), 0);
    if (lengths.length > engine.maxSlots || need > (blocks.admissionFreeBlocks?.() ?? blocks.freeBlocks)) return;
    const seqs = lengths.map((_, i) => -2 - i);
    const sample = (i: number) => ({ temperature: 1, topK: 0, topP: 1, uniform: (i + 0.5) / lengths.length });
    try {
      const prompt = (n: number, i: number) => Array.from({ length: n }, (_, t) => (1 + i + t) % vocab);
      await engine.step(lengths.map((n, i) => ({ seq: seqs[i]!, ids: prompt(n, i), start: 0, sample: sample(i) })));
      if (decode) {
        await engine.step(lengths.map((n, i) => ({ seq: seqs[i]!, ids: [0], start: n, sample: sample(i) })));
      }
    } finally {
      for (const s of seqs) engine.release(s);
    }
  };
  for (const rows of sizeClasses(maxRows)) {
    // One row ran above.
    if (rows >= 2)
      await run(
        Array.from({ length: Math.ceil(rows / perSeq) }, (_, i) => Math.min(perSeq, rows - i * perSeq)),
        false,
      );
  }
  for (const count of sizeClasses(engine.maxSlots)) if (count >= 2) await run(new Array<number>(count).fill(1), true);
}
