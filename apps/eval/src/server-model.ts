/**
 * A {@link LogLikelihoodModel} backed by any OpenAI-compatible `/v1/completions` server that supports `echo: true`
 * with `logprobs` and `max_tokens: 0` (andes-serve, vLLM, …): the server scores the prompt's own tokens.
 * @module
 */
import { CliError } from '@andes/cli';
import {
  continuationRequest,
  cutAtStop,
  moveTrailingWhitespace,
  rollingWindows,
  type TokenRequest,
  truncateLeft,
} from './harness.js';
import type {
  GenerateOptions,
  LogLikelihoodModel,
  LoglikelihoodRequest,
  LoglikelihoodResult,
  ProgressCallback,
  RollingOptions,
  RollingResult,
} from './model.js';

/**
 * `fetch`, with a network failure (Node's bare "fetch failed") turned into an error naming the URL and the cause,
 * e.g. `cannot reach http://127.0.0.1:9/v1/models (ECONNREFUSED)`.
 */
async function reach(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new CliError(
      `cannot reach ${url} (${why})`,
      'is the server running at --server? andes-serve prints its address when it starts',
      { cause: err },
    );
  }
}

/** The `logprobs` object of an OpenAI legacy completion choice. */
interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs?: (Record<string, number> | null)[] | null;
}

/** Options of {@link ServerModel}. */
export interface ServerModelOptions {
  /** The `model` field sent with each request (default: the first id of `GET /v1/models`). */
  model?: string;
  /** Requests in flight at once (default 8; the server batches them). */
  concurrency?: number;
  /** Extra request headers (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /** Most input tokens per request (default and cap: the server's `max_model_len − 1`). */
  maxLength?: number;
}

/** The base URL ending in `/v1`, whether or not the user wrote it. */
export function apiBase(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith('/v1') ? trimmed : `${trimmed}/v1`;
}

async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  onProgress?: ProgressCallback,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
      onProgress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Evaluates a model served over HTTP with the harness's request semantics. When the server has vLLM's `/tokenize`
 * route (andes-serve does), requests are built in token space like {@link LocalModel}'s and sent as token-id prompts;
 * otherwise the server tokenizes text prompts and the continuation is split off by the context's token count.
 */
export class ServerModel implements LogLikelihoodModel {
  /** The server URL as given. */
  readonly name: string;
  private readonly base: string;
  private modelId: string | undefined;
  private readonly concurrency: number;
  private readonly headers: Record<string, string>;
  private readonly maxLength: number | undefined;
  private readonly contextLengths = new Map<string, Promise<number>>();
  private readonly tokenCache = new Map<string, Promise<number[]>>();
  private probe: Promise<{ bos: number; maxModelLen: number | undefined } | null> | undefined;

  /** Connects lazily: nothing is sent until the first request. */
  constructor(url: string, options: ServerModelOptions = {}) {
    this.name = url;
    this.base = apiBase(url);
    this.modelId = options.model;
    this.concurrency = options.concurrency ?? 8;
    this.headers = { 'content-type': 'application/json', ...options.headers };
    this.maxLength = options.maxLength;
  }

  private async post(path: string, body: object): Promise<unknown> {
    const url = this.base + path;
    const response = await reach(url, { method: 'POST', headers: this.headers, body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`POST ${url}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }

  private async model(): Promise<string> {
    if (this.modelId === undefined) {
      const url = `${this.base}/models`;
      const response = await reach(url, { headers: this.headers });
      if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}; pass the model name explicitly`);
      const list = (await response.json()) as { data?: { id: string }[] };
      this.modelId = list.data?.[0]?.id ?? 'default';
    }
    return this.modelId;
  }

  /** Scores the prompt's own tokens (text or token ids) with `echo` and `max_tokens: 0`. */
  private async echo(prompt: string | number[], topLogprobs: number): Promise<CompletionLogprobs> {
    const body = {
      model: await this.model(),
      prompt,
      max_tokens: 0,
      echo: true,
      logprobs: topLogprobs,
      temperature: 0,
    };
    const reply = (await this.post('/completions', body)) as { choices?: { logprobs?: CompletionLogprobs | null }[] };
    const lp = reply.choices?.[0]?.logprobs;
    if (!lp || !Array.isArray(lp.tokens) || !Array.isArray(lp.token_logprobs)) {
      throw new Error(
        `${this.base}/completions: the reply has no choices[0].logprobs; the server must support echo with logprobs`,
      );
    }
    return lp;
  }

  /** `POST /tokenize` (vLLM and andes-serve), or null when the server has no such route. */
  private async tokenize(
    prompt: string,
    addSpecialTokens: boolean,
  ): Promise<{ tokens: number[]; max_model_len?: number } | null> {
    const url = `${this.base.replace(/\/v1$/, '')}/tokenize`;
    const body = JSON.stringify({ model: await this.model(), prompt, add_special_tokens: addSpecialTokens });
    const response = await reach(url, { method: 'POST', headers: this.headers, body });
    if (response.status === 404 || response.status === 405) return null;
    const text = await response.text();
    if (!response.ok) throw new Error(`POST ${url}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }

  /** What `/tokenize` tells about the server's tokenizer (BOS id, context length), or null without the route. */
  private tokenizerInfo(): Promise<{ bos: number; maxModelLen: number | undefined } | null> {
    this.probe ??= this.tokenize('', true).then((p) => {
      if (p === null) return null;
      if (p.tokens[0] === undefined)
        throw new Error(`${this.base}: /tokenize adds no BOS token; evaluation needs a prefix token`);
      return { bos: p.tokens[0], maxModelLen: p.max_model_len };
    });
    return this.probe;
  }

  private tokenizeCached(text: string): Promise<number[]> {
    let ids = this.tokenCache.get(text);
    if (ids === undefined) {
      ids = this.tokenize(text, true).then((r) => r!.tokens);
      this.tokenCache.set(text, ids);
    }
    return ids;
  }

  /** Sum and greediness of the last `scored` echoed tokens. */
  private static sumLast(lp: CompletionLogprobs, scored: number, where: string): LoglikelihoodResult {
    let logprob = 0;
    let isGreedy = true;
    for (let j = lp.token_logprobs.length - scored; j < lp.token_logprobs.length; j++) {
      const v = lp.token_logprobs[j];
      if (v === null || v === undefined) throw new Error(`${where}: no logprob for prompt token ${j}`);
      logprob += v;
      const top = lp.top_logprobs?.[j];
      if (top && Object.keys(top).length > 0) {
        const best = Object.entries(top).reduce((x, y) => (y[1] > x[1] ? y : x));
        if (best[0] !== lp.tokens[j]) isGreedy = false;
      }
    }
    return { logprob, isGreedy };
  }

  /**
   * Log-likelihood of each continuation. With `/tokenize`, requests are built in token space exactly as
   * {@link LocalModel} builds them (BOS + context, continuation split as `_encode_pair`, left truncation to
   * `max_model_len − 1` because the prompt carries the last target too) and sent as token ids. Without it, the context
   * is sent alone once to count its tokens and context + continuation once as text.
   */
  async loglikelihood(requests: LoglikelihoodRequest[], onProgress?: ProgressCallback): Promise<LoglikelihoodResult[]> {
    const info = await this.tokenizerInfo();
    const where = `${this.base}/completions`;
    return mapConcurrent(
      requests,
      this.concurrency,
      async (request) => {
        const { context, continuation } = moveTrailingWhitespace(request.context, request.continuation);
        if (info !== null) {
          const [ctx, whole] = await Promise.all([
            this.tokenizeCached(context),
            this.tokenize(context + continuation, true),
          ]);
          let req = continuationRequest(ctx, whole!.tokens);
          const limit = Math.min(
            this.maxLength ?? Number.POSITIVE_INFINITY,
            (info.maxModelLen ?? Number.POSITIVE_INFINITY) - 1,
          );
          if (Number.isFinite(limit)) req = truncateLeft(req, limit);
          return ServerModel.sumLast(await this.echo(req.tokens, 1), req.scored, where);
        }
        const [contextTokens, lp] = await Promise.all([
          this.contextLength(context),
          this.echo(context + continuation, 1),
        ]);
        return ServerModel.sumLast(lp, lp.tokens.length - contextTokens, where);
      },
      onProgress,
    );
  }

  private contextLength(context: string): Promise<number> {
    let n = this.contextLengths.get(context);
    if (n === undefined) {
      n = this.echo(context, 0).then((lp) => lp.tokens.length);
      this.contextLengths.set(context, n);
    }
    return n;
  }

  /**
   * Log-likelihood of each whole text. With `/tokenize`, the text is cut into the harness's rolling windows (as
   * {@link LocalModel} does; default window: `max_model_len − 1`) and each window is sent as token ids; otherwise
   * each text is sent whole and must fit the server's context.
   */
  async loglikelihoodRolling(
    texts: string[],
    options: RollingOptions = {},
    onProgress?: ProgressCallback,
  ): Promise<RollingResult[]> {
    const info = await this.tokenizerInfo();
    if (info === null) return this.rollingWhole(texts, onProgress);
    const maxLength = options.maxLength ?? this.maxLength ?? (info.maxModelLen ?? Number.POSITIVE_INFINITY) - 1;
    if (!Number.isFinite(maxLength))
      throw new Error(`${this.base}: /tokenize reports no max_model_len; pass a window length`);
    const windows: TokenRequest[] = [];
    const owner: number[] = [];
    const counts: number[] = [];
    for (const [i, text] of texts.entries()) {
      const tokens = (await this.tokenize(text, false))!.tokens;
      counts.push(tokens.length);
      for (const w of rollingWindows(tokens, info.bos, maxLength, options.stride ?? maxLength)) {
        windows.push(w);
        owner.push(i);
      }
    }
    const where = `${this.base}/completions`;
    const scores = await mapConcurrent(
      windows,
      this.concurrency,
      async (w) => ServerModel.sumLast(await this.echo(w.tokens, 0), w.scored, where),
      onProgress,
    );
    const logprobs = texts.map(() => 0);
    scores.forEach((s, j) => {
      logprobs[owner[j]!]! += s.logprob;
    });
    return texts.map((_, i) => ({ logprob: logprobs[i]!, tokens: counts[i]! }));
  }

  private async rollingWhole(texts: string[], onProgress?: ProgressCallback): Promise<RollingResult[]> {
    return mapConcurrent(
      texts,
      this.concurrency,
      async (text) => {
        const lp = await this.echo(text, 0);
        let logprob = 0;
        let tokens = 0;
        for (const v of lp.token_logprobs) {
          if (v === null) continue;
          logprob += v;
          tokens++;
        }
        return { logprob, tokens };
      },
      onProgress,
    );
  }

  /** Greedy completions (temperature 0) with the stop strings sent to the server and applied again here. */
  async generate(prompts: string[], options: GenerateOptions, onProgress?: ProgressCallback): Promise<string[]> {
    const model = await this.model();
    return mapConcurrent(
      prompts,
      this.concurrency,
      async (prompt) => {
        const body = { model, prompt, max_tokens: options.maxTokens, temperature: 0, stop: options.until.slice(0, 4) };
        const reply = (await this.post('/completions', body)) as { choices?: { text?: string }[] };
        return cutAtStop(reply.choices?.[0]?.text ?? '', options.until);
      },
      onProgress,
    );
  }

  /** Nothing to release: requests are independent. */
  async close(): Promise<void> {}
}
