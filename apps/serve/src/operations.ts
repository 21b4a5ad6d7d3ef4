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

/** Options of {@link warmUp}. */
export interface WarmUpOptions {
  /**
   * Also run a full batch (default: on WebGPU, where a 16-row step compiles its own kernels on first use — ~5 s on
   * lavapipe; not on the CPU, where it would only cost time: a batch of a large model's rows takes seconds there).
   */
  batch?: boolean;
}

/**
 * Runs one short prefill and two decode steps of a throw-away sequence and frees it, so that first requests do not
 * pay for compiling kernels or (CPU) moving weights into the kernels' memory, which happens on a weight's second use;
 * with `batch`, then a prefill and a decode step of as many throw-away sequences as the batch and the free blocks
 * allow, drawing their tokens on the device as requests do.
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
  if (options.batch ?? getBackend().name !== 'cpu') await warmUpBatch(engine);
}

/** {@link warmUp}'s batch: a 2-token prompt per sequence, then one decode each, every token drawn (temperature 1). */
async function warmUpBatch(engine: Engine): Promise<void> {
  const { blocks } = engine;
  if (engine.maxContext < 3) return;
  const fit = Math.floor((blocks.admissionFreeBlocks?.() ?? blocks.freeBlocks) / blocks.blocksFor(3));
  const seqs = Array.from({ length: Math.min(engine.maxSlots, fit) }, (_, i) => -2 - i);
  if (seqs.length < 2) return;
  const sample = (i: number) => ({ temperature: 1, topK: 0, topP: 1, uniform: (i + 0.5) / seqs.length });
  try {
    await engine.step(
      seqs.map((seq, i) => ({ seq, ids: [1, 2].map((t) => t % engine.vocabSize), start: 0, sample: sample(i) })),
    );
    await engine.step(seqs.map((seq, i) => ({ seq, ids: [0], start: 2, sample: sample(i) })));
  } finally {
    for (const seq of seqs) engine.release(seq);
  }
}
