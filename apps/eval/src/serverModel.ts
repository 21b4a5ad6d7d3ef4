/**
 * A {@link LogLikelihoodModel} backed by any OpenAI-compatible `/v1/completions` server that supports `echo: true`
 * with `logprobs` and `max_tokens: 0` (andes-serve, vLLM, …): the server scores the prompt's own tokens.
 * @module
 */
import { cutAtStop, moveTrailingWhitespace, rollingWindows, type TokenRequest } from './harness.js';
import type {
  GenerateOptions,
  LogLikelihoodModel,
  LoglikelihoodRequest,
  LoglikelihoodResult,
  ProgressCallback,
  RollingOptions,
  RollingResult,
} from './model.js';

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
 * Evaluates a model served over HTTP. Requests are split as the harness splits them: the context alone is sent once
 * to count its tokens (the server tokenizes, BOS included if it adds one), then context + continuation is sent and
 * the log-probabilities of the tokens past the context are summed.
 */
export class ServerModel implements LogLikelihoodModel {
  /** The server URL as given. */
  readonly name: string;
  private readonly base: string;
  private modelId: string | undefined;
  private readonly concurrency: number;
  private readonly headers: Record<string, string>;
  private readonly contextLengths = new Map<string, Promise<number>>();

  /** Connects lazily: nothing is sent until the first request. */
  constructor(url: string, options: ServerModelOptions = {}) {
    this.name = url;
    this.base = apiBase(url);
    this.modelId = options.model;
    this.concurrency = options.concurrency ?? 8;
    this.headers = { 'content-type': 'application/json', ...options.headers };
  }

  private async post(path: string, body: object): Promise<unknown> {
    const url = this.base + path;
    const response = await fetch(url, { method: 'POST', headers: this.headers, body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`POST ${url}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }

  private async model(): Promise<string> {
    if (this.modelId === undefined) {
      const url = `${this.base}/models`;
      const response = await fetch(url, { headers: this.headers });
      if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}; pass the model name explicitly`);
      const list = (await response.json()) as { data?: { id: string }[] };
      this.modelId = list.data?.[0]?.id ?? 'default';
    }
    return this.modelId;
  }

  /** Scores the prompt's own tokens with `echo` and `max_tokens: 0`. */
  private async echo(prompt: string, topLogprobs: number): Promise<CompletionLogprobs> {
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

  private contextLength(context: string): Promise<number> {
    let n = this.contextLengths.get(context);
    if (n === undefined) {
      n = this.echo(context, 0).then((lp) => lp.tokens.length);
      this.contextLengths.set(context, n);
    }
    return n;
  }

  /** Log-likelihood of each continuation, split at the context's token count as the harness's `_encode_pair`. */
  async loglikelihood(requests: LoglikelihoodRequest[], onProgress?: ProgressCallback): Promise<LoglikelihoodResult[]> {
    return mapConcurrent(
      requests,
      this.concurrency,
      async (request) => {
        const { context, continuation } = moveTrailingWhitespace(request.context, request.continuation);
        const [contextTokens, whole] = await Promise.all([
          this.contextLength(context),
          this.echo(context + continuation, 1),
        ]);
        let logprob = 0;
        let isGreedy = true;
        for (let j = contextTokens; j < whole.tokens.length; j++) {
          const lp = whole.token_logprobs[j];
          if (lp === null || lp === undefined)
            throw new Error(`${this.base}/completions: no logprob for prompt token ${j}`);
          logprob += lp;
          const top = whole.top_logprobs?.[j];
          if (top) {
            const best = Object.entries(top).reduce((a, b) => (b[1] > a[1] ? b : a));
            if (best[0] !== whole.tokens[j]) isGreedy = false;
          }
        }
        return { logprob, isGreedy };
      },
      onProgress,
    );
  }

  /** `POST /tokenize` (vLLM and andes-serve), or null when the server has no such route. */
  private async tokenize(
    prompt: string,
    addSpecialTokens: boolean,
  ): Promise<{ tokens: number[]; max_model_len?: number } | null> {
    const url = `${this.base.replace(/\/v1$/, '')}/tokenize`;
    const body = JSON.stringify({ model: await this.model(), prompt, add_special_tokens: addSpecialTokens });
    const response = await fetch(url, { method: 'POST', headers: this.headers, body });
    if (response.status === 404 || response.status === 405) return null;
    const text = await response.text();
    if (!response.ok) throw new Error(`POST ${url}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }

  /** Sums the echoed log-probabilities of the last `scored` tokens of a token-id prompt. */
  private async scoreWindow(window: TokenRequest): Promise<number> {
    const body = {
      model: await this.model(),
      prompt: window.tokens,
      max_tokens: 0,
      echo: true,
      logprobs: 0,
      temperature: 0,
    };
    const reply = (await this.post('/completions', body)) as { choices?: { logprobs?: CompletionLogprobs | null }[] };
    const lp = reply.choices?.[0]?.logprobs?.token_logprobs;
    if (!lp || lp.length !== window.tokens.length) {
      throw new Error(
        `${this.base}/completions: expected ${window.tokens.length} echoed token logprobs, got ${lp?.length}`,
      );
    }
    let sum = 0;
    for (let j = lp.length - window.scored; j < lp.length; j++) sum += lp[j]!;
    return sum;
  }

  /**
   * Log-likelihood of each whole text. When the server has `/tokenize`, the text is cut into the harness's rolling
   * windows (as {@link LocalModel} does; default window: the server's `max_model_len` − 1, since a window's prompt
   * carries one token more than the model reads) and each window is sent as token ids; otherwise each text is sent
   * whole and must fit the server's context.
   */
  async loglikelihoodRolling(
    texts: string[],
    options: RollingOptions = {},
    onProgress?: ProgressCallback,
  ): Promise<RollingResult[]> {
    const probe = await this.tokenize('', true);
    if (probe === null) return this.rollingWhole(texts, onProgress);
    const bos = probe.tokens[0];
    if (bos === undefined)
      throw new Error(`${this.base}: /tokenize adds no BOS token; rolling windows need a prefix token`);
    const maxLength = options.maxLength ?? (probe.max_model_len ?? Number.POSITIVE_INFINITY) - 1;
    if (!Number.isFinite(maxLength))
      throw new Error(`${this.base}: /tokenize reports no max_model_len; pass a window length`);
    const windows: TokenRequest[] = [];
    const owner: number[] = [];
    const counts: number[] = [];
    for (const [i, text] of texts.entries()) {
      const tokens = (await this.tokenize(text, false))!.tokens;
      counts.push(tokens.length);
      for (const w of rollingWindows(tokens, bos, maxLength, options.stride ?? maxLength)) {
        windows.push(w);
        owner.push(i);
      }
    }
    const scores = await mapConcurrent(windows, this.concurrency, (w) => this.scoreWindow(w), onProgress);
    const logprobs = texts.map(() => 0);
    scores.forEach((s, j) => {
      logprobs[owner[j]!]! += s;
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
