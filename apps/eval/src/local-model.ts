/**
 * A {@link LogLikelihoodModel} that runs a model directory in-process (@andes/checkpoint + @andes/nn), batching
 * requests by length with one forward per batch.
 * @module
 */
import { applyLoraAdapterDir, type LoadDtype, loadModel } from '@andes/checkpoint';
import { CliError, userMessage } from '@andes/cli';
import { LlamaForCausalLM } from '@andes/nn';
import { greedyBatch } from './batched-greedy.js';
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
import { scoreSharedContexts, sharedContextGroups } from './prefix-scorer.js';
import { type BatchOptions, type CausalLm, scoreTokenRequests } from './token-scorer.js';

/** The tokenizer operations evaluation needs (satisfied by @andes/tokenizer's tokenizers). */
export interface EvalTokenizer {
  encode(text: string, options?: { bos?: boolean; eos?: boolean }): ArrayLike<number>;
  decode(ids: ArrayLike<number>): string;
  readonly bosId: number;
}

/** Options of {@link LocalModel}. */
export interface LocalModelOptions {
  /** Label for reports (default `'local'`). */
  name?: string;
  /** Context length in tokens (default: the config's `max_position_embeddings`). */
  maxLength?: number;
  /** Most rows per forward (default 16). */
  batchSize?: number;
  /** Most padded tokens per forward (default 8192; {@link LocalModel.load}: about 256 MiB of logits, ≤ 8192). */
  maxBatchTokens?: number;
  /** {@link LocalModel.load}: apply this PEFT LoRA adapter directory to the loaded model. */
  lora?: string;
}

/**
 * Evaluates an in-process causal LM. Every context starts with the tokenizer's BOS token, which is also the prefix
 * token of rolling windows (the harness uses BOS as `prefix_token_id` when the tokenizer has one), so a request
 * with an empty context scores its first token after BOS.
 */
export class LocalModel implements LogLikelihoodModel {
  /** Label for reports. */
  readonly name: string;
  /** Context length used for truncation and rolling windows. */
  readonly maxLength: number;
  private readonly batch: Pick<BatchOptions, 'batchSize' | 'maxBatchTokens'>;

  /**
   * @param lm - the model: `forward(ids int32 [B, T]) → logits [B, T, V]`
   * @param tokenizer - the model's tokenizer
   * @param maxPositions - the model's context length (used unless `options.maxLength` is given)
   */
  constructor(
    readonly lm: CausalLm,
    readonly tokenizer: EvalTokenizer,
    maxPositions: number,
    options: LocalModelOptions = {},
  ) {
    this.name = options.name ?? 'local';
    this.maxLength = options.maxLength ?? maxPositions;
    this.batch = { batchSize: options.batchSize, maxBatchTokens: options.maxBatchTokens };
  }

  /**
   * Loads a model directory (config.json, weights, tokenizer), a GGUF file or a llama2.c `.bin`. `dtype`: `keep` holds
   * a GGUF's half and quantized matrices in their types, `auto` (the default) too but for F16/BF16 on the CPU (see
   * `loadOptionsOf`); another type rounds every matrix through it.
   */
  static async load(dir: string, options: LocalModelOptions & { dtype?: LoadDtype } = {}): Promise<LocalModel> {
    let loaded: Awaited<ReturnType<typeof loadModel>>;
    try {
      loaded = await loadModel(dir, { dtype: options.dtype ?? 'auto' });
    } catch (err) {
      throw new CliError(
        `cannot load the model in ${dir}: ${userMessage((err as Error).message)}`,
        'pass --model a model directory (config.json, model.safetensors, tokenizer), a .gguf or a llama2.c .bin, e.g. runs/default/model',
        { cause: err },
      );
    }
    const limit = loaded.config.max_position_embeddings;
    if (options.maxLength !== undefined && options.maxLength > limit) {
      throw new Error(`${dir}: context ${options.maxLength} exceeds the model's max_position_embeddings ${limit}`);
    }
    if (!loaded.tokenizer) throw new Error(`${dir}: the model directory has no tokenizer; evaluation needs one`);
    const model = LlamaForCausalLM.fromWeights(loaded.config, loaded);
    if (options.lora !== undefined) await applyLoraAdapterDir(model, options.lora);
    model.eval(); // no adapter dropout while scoring
    // The [rows, seq, vocab] logits dominate a batch's memory: keep them near 256 MiB of float32 by default.
    const maxBatchTokens = Math.max(256, Math.min(8192, Math.floor(2 ** 26 / loaded.config.vocab_size)));
    return new LocalModel(model, loaded.tokenizer, loaded.config.max_position_embeddings, {
      name: dir,
      maxBatchTokens,
      ...options,
    });
  }

  private encode(text: string): number[] {
    return Array.from(this.tokenizer.encode(text, { bos: false, eos: false }));
  }

  /** The harness's requests in token space, left-truncated to the context length. */
  tokenRequests(requests: readonly LoglikelihoodRequest[]): TokenRequest[] {
    const cache = new Map<string, number[]>();
    const bos = this.tokenizer.bosId;
    const encodeCached = (text: string) => {
      let ids = cache.get(text);
      if (!ids) {
        ids = [bos, ...this.encode(text)];
        cache.set(text, ids);
      }
      return ids;
    };
    return requests.map((r) => {
      const { context, continuation } = moveTrailingWhitespace(r.context, r.continuation);
      const request = continuationRequest(encodeCached(context), [bos, ...this.encode(context + continuation)]);
      return truncateLeft(request, this.maxLength);
    });
  }

  /**
   * log P(continuation | BOS + context) per request. Requests sharing their context tokens (the choices of one
   * question) go through a KV cache with the context computed once; the rest are batched by length.
   */
  async loglikelihood(requests: LoglikelihoodRequest[], onProgress?: ProgressCallback): Promise<LoglikelihoodResult[]> {
    const tokenRequests = this.tokenRequests(requests);
    const results: LoglikelihoodResult[] = new Array(tokenRequests.length);
    const groups = this.lm instanceof LlamaForCausalLM ? sharedContextGroups(tokenRequests) : [];
    let done = 0;
    await scoreSharedContexts(this.lm as LlamaForCausalLM, tokenRequests, groups, results, (n) => {
      done += n;
      onProgress?.(done, tokenRequests.length);
    });
    const shared = new Set(groups.flat());
    const rest = tokenRequests.map((_, i) => i).filter((i) => !shared.has(i));
    const batched = await scoreTokenRequests(
      this.lm,
      rest.map((i) => tokenRequests[i]!),
      { ...this.batch, onProgress: (d) => onProgress?.(done + d, tokenRequests.length) },
    );
    rest.forEach((i, k) => {
      results[i] = batched[k]!;
    });
    return results;
  }

  /** Log-likelihood of each text in rolling windows (`maxLength` tokens, `stride` new tokens per later window). */
  async loglikelihoodRolling(
    texts: string[],
    options: RollingOptions = {},
    onProgress?: ProgressCallback,
  ): Promise<RollingResult[]> {
    const maxLength = options.maxLength ?? this.maxLength;
    if (maxLength > this.maxLength) {
      throw new Error(`loglikelihoodRolling: window ${maxLength} exceeds the model's context length ${this.maxLength}`);
    }
    const owner: number[] = [];
    const windows: TokenRequest[] = [];
    const counts = texts.map((text, i) => {
      const tokens = this.encode(text);
      for (const w of rollingWindows(tokens, this.tokenizer.bosId, maxLength, options.stride ?? maxLength)) {
        windows.push(w);
        owner.push(i);
      }
      return tokens.length;
    });
    const scores = await scoreTokenRequests(this.lm, windows, { ...this.batch, onProgress });
    const logprobs = texts.map(() => 0);
    scores.forEach((s, j) => {
      logprobs[owner[j]!]! += s.logprob;
    });
    return texts.map((_, i) => ({ logprob: logprobs[i]!, tokens: counts[i]! }));
  }

  /**
   * Greedy generation after BOS + prompt (left-truncated to leave room for `maxTokens`), cut at the first stop
   * string; prompts are decoded together, one batched forward per step.
   */
  async generate(prompts: string[], options: GenerateOptions, onProgress?: ProgressCallback): Promise<string[]> {
    if (!(this.lm instanceof LlamaForCausalLM)) throw new Error('LocalModel.generate needs a LlamaForCausalLM');
    const room = this.maxLength - options.maxTokens;
    if (room < 1)
      throw new Error(`generate: maxTokens ${options.maxTokens} leaves no room in a ${this.maxLength}-token context`);
    const ids = prompts.map((prompt) => [this.tokenizer.bosId, ...this.encode(prompt)].slice(-room));
    const stopped = (generated: readonly number[]) => {
      const text = this.tokenizer.decode(generated);
      return cutAtStop(text, options.until).length < text.length;
    };
    const generated = await greedyBatch(this.lm, ids, {
      maxNewTokens: options.maxTokens,
      slots: this.batch.batchSize ?? 8,
      stop: (_, out) => stopped(out),
      onProgress,
    });
    return generated.map((g) => cutAtStop(this.tokenizer.decode(g), options.until));
  }

  /** Frees the model's parameters when it can (a `dispose()` method). */
  async close(): Promise<void> {
    (this.lm as { dispose?: () => void }).dispose?.();
  }
}
