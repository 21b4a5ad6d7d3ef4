/**
 * The HTTP server: Fastify with schema validation, OpenAI error bodies for every failure (bad JSON, wrong types,
 * oversized bodies, unknown routes), optional API-key auth, the routes, and a graceful shutdown. The server
 * listens before the model has loaded, answering 503 until it is ready.
 *
 * @module
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { CHAT_PAGE_HTML } from './chat-page.js';
import { registerChatRoute } from './chat-route.js';
import { registerCompletionsRoute } from './completions-route.js';
import { ApiError, errorBody } from './errors.js';
import { registerInfoRoutes } from './info-routes.js';
import { ServeMetrics } from './metrics.js';
import { registerOperations, requestIdOptions, type WarmUpMode, warmUp } from './operations.js';
import { DEFAULT_PREFILL_CHUNK } from './prefill-budget.js';
import type { PrefillFirstPolicy } from './prefill-first.js';
import { type RateLimitOptions, TokenBucketLimiter } from './rate-limit.js';
import type { RouteContext } from './route-context.js';
import { Scheduler } from './scheduler.js';
import type { ServedModel } from './served-model.js';

/** Server settings. */
export interface ServerOptions {
  /** Loads the model; the server answers 503 until it resolves. */
  load: () => Promise<ServedModel>;
  /** When set, `/v1/*`, `/tokenize` and `/detokenize` require `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Requests waiting for a KV-cache slot before new ones get 429 (default 256). */
  maxQueue?: number;
  /** Most prompt tokens prefilled per token boundary; longer prompts go in chunks (default 512). */
  prefillChunk?: number;
  /** What runs before `/ready` (default `'auto'`: every size class on WebGPU, one short sequence on the CPU). */
  warmUp?: WarmUpMode;
  /** Wall milliseconds a step with prefill should take; its prompt tokens are sized from measured steps (default 100; 0: off). */
  targetStepMs?: number;
  /**
   * Run prompts in steps of their own ahead of the running decodes (lower TTFT, longer inter-token gaps): `true`
   * never twice in a row, `'adaptive'` while the decodes wait at most about three decode steps and no request waits
   * for a slot, `false` never. Default: `'adaptive'` where the engine steps on this thread (WebGPU), else false (see
   * `SchedulerOptions.prefillFirst`).
   */
  prefillFirst?: PrefillFirstPolicy;
  /**
   * Cut-ins (default true where the engine offers them: one engine worker on the CPU backend): a prompt arriving
   * during a step runs between two of its layers (see `SchedulerOptions.cutIn`).
   */
  cutIn?: boolean;
  /**
   * Refill waits in milliseconds (default: `DEFAULT_REFILL_WAIT_MS` where the engine steps on this thread, else 0;
   * 0: off): a step after sequences ended waits that long at most for their clients' next requests (see
   * `SchedulerOptions.refillWaitMs`).
   */
  refillWaitMs?: number;
  /** Prefix caching: shortest cached prompt prefix worth reusing, in tokens (default 16; 0 turns it off). */
  prefixCacheMinTokens?: number;
  /** Prefix caching below block granularity (default true; see `SchedulerOptions.partialPrefix`). */
  partialPrefix?: boolean;
  /** Largest request body in bytes (default 4 MiB); larger ones get 413. */
  bodyLimit?: number;
  /** Fastify's logger (pino; default off): true, or `{ level }`. Each line carries the request's `request_id`. */
  logger?: boolean | { level: string; stream?: { write(line: string): void } };
  /** Per-key (API key, else client address) limit on `/v1/*` requests: 429 with `Retry-After` beyond it. */
  rateLimit?: RateLimitOptions;
}

/** A created server: the Fastify app plus loading state and shutdown. */
export interface AndesServer {
  readonly app: FastifyInstance;
  readonly metrics: ServeMetrics;
  /** Resolves when the model is loaded (rejects if loading failed). */
  readonly loaded: Promise<void>;
  /** The scheduler, once loaded. */
  scheduler(): Scheduler | null;
  /**
   * Stops accepting requests (503), lets in-flight generations finish for up to `graceMs`, cancels the rest,
   * closes the listener and frees the model.
   */
  shutdown(graceMs?: number): Promise<void>;
}

const PROTECTED = /^\/(v1\/|tokenize|detokenize)/;

/** Builds the server (not yet listening: call `app.listen`). */
export function createServer(options: ServerOptions): AndesServer {
  let model: ServedModel | null = null;
  let scheduler: Scheduler | null = null;
  let loadError: Error | null = null;
  let draining = false;
  let warmed = false;
  const metrics = new ServeMetrics(
    () => scheduler?.queueDepth ?? 0,
    () => scheduler?.runningCount ?? 0,
    () => model?.engine.maxSlots ?? 0,
    {
      used: () => scheduler?.kvPositionsInUse ?? 0,
      total: () => (model ? model.engine.blocks.numBlocks * model.engine.blocks.blockSize : 0),
    },
    {
      used: () => model?.engine.blocks.usedBlocks ?? 0,
      free: () => model?.engine.blocks.freeBlocks ?? 0,
      total: () => model?.engine.blocks.numBlocks ?? 0,
    },
  );
  const app = Fastify({
    ...requestIdOptions(),
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 4 * 1024 * 1024,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });

  const ctx: RouteContext = {
    metrics,
    ready() {
      if (draining) throw new ApiError(503, 'The server is shutting down.', { code: 'shutting_down', retryAfter: 1 });
      if (loadError) throw new ApiError(503, `The model failed to load: ${loadError.message}`, { code: 'load_failed' });
      if (!model || !scheduler)
        throw new ApiError(503, 'The model is still loading; retry shortly.', { code: 'loading', retryAfter: 5 });
      return { model, scheduler };
    },
  };

  if (options.apiKey) {
    const expected = `Bearer ${options.apiKey}`;
    app.addHook('onRequest', async (request, reply) => {
      if (!PROTECTED.test(request.url)) return;
      if (request.headers.authorization !== expected) {
        return reply.code(401).send(
          errorBody(401, 'Incorrect or missing API key. Send it as `Authorization: Bearer <key>`.', {
            code: 'invalid_api_key',
          }),
        );
      }
    });
  }
  registerOperations(app, {
    readiness: { warmed: () => warmed, loadError: () => loadError, draining: () => draining },
    metrics,
    limiter: options.rateLimit ? new TokenBucketLimiter(options.rateLimit) : undefined,
    limited: /^\/v1\//,
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({ endpoint: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) {
      if (error.options.retryAfter !== undefined) reply.header('retry-after', String(error.options.retryAfter));
      return reply.code(error.status).send(error.body());
    }
    const e = error as FastifyError;
    if (e.validation) {
      const first = e.validation[0];
      const path = first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') ?? '';
      const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
      const param = missing ?? (path || null);
      return reply
        .code(400)
        .send(errorBody(400, `Invalid request: ${param ?? 'body'} ${first?.message ?? e.message}`, { param }));
    }
    const status = e.statusCode ?? 500;
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(
        errorBody(413, `Request body larger than ${app.initialConfig.bodyLimit} bytes.`, {
          code: 'request_too_large',
        }),
      );
    }
    if (status >= 400 && status < 500)
      return reply.code(status).send(errorBody(status, e.message, { code: e.code ?? null }));
    request.log.error(e);
    return reply.code(500).send(errorBody(500, `Internal error: ${e.message}`));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(404, `No route ${request.method} ${request.url}.`, { code: 'not_found' })),
  );

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(CHAT_PAGE_HTML));
  registerInfoRoutes(app, ctx, {
    isReady: () => model !== null,
    loadError: () => loadError,
    draining: () => draining,
  });
  registerChatRoute(app, ctx);
  registerCompletionsRoute(app, ctx);

  const loaded = options.load().then(
    async (m) => {
      // Warm before serving: readiness (and the first requests) must not pay for first-use work.
      try {
        const mode = options.warmUp ?? 'auto';
        await warmUp(m.engine, {
          batch: mode === 'auto' ? undefined : mode === 'sizes',
          maxRows: (options.prefillChunk ?? DEFAULT_PREFILL_CHUNK) + m.engine.maxSlots,
        });
      } catch (e) {
        loadError = new Error(`warm-up failed: ${e instanceof Error ? e.message : String(e)}`);
        throw loadError;
      }
      model = m;
      scheduler = new Scheduler(m.engine, {
        maxQueue: options.maxQueue ?? 256,
        prefillChunk: options.prefillChunk,
        targetStepMs: options.targetStepMs,
        prefillFirst: options.prefillFirst,
        cutIn: options.cutIn,
        refillWaitMs: options.refillWaitMs,
        prefixCacheMinTokens: options.prefixCacheMinTokens,
        partialPrefix: options.partialPrefix,
        metrics,
      });
      warmed = true;
    },
    (e: unknown) => {
      loadError = e instanceof Error ? e : new Error(String(e));
      throw loadError;
    },
  );
  // Loading errors are reported by /health; do not crash on an unobserved rejection.
  loaded.catch(() => {});

  return {
    app,
    metrics,
    loaded,
    scheduler: () => scheduler,
    async shutdown(graceMs = 10_000) {
      draining = true;
      scheduler?.close();
      if (scheduler) {
        const s = scheduler;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([s.idle(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
        s.cancelAll();
        await s.idle();
      }
      await app.close();
      model?.engine.dispose();
    },
  };
}
