/**
 * What the evaluator needs from a language model, following lm-evaluation-harness's `LM` interface.
 * @module
 */

/** Score `continuation` given `context`: log P(continuation | context) summed over its tokens. */
export interface LoglikelihoodRequest {
  context: string;
  continuation: string;
}

/** The answer to a {@link LoglikelihoodRequest}. */
export interface LoglikelihoodResult {
  /** Sum of the continuation tokens' natural-log probabilities (nats, ≤ 0). */
  logprob: number;
  /** Whether greedy (argmax) decoding would have produced exactly the continuation's tokens. */
  isGreedy: boolean;
}

/** The answer to a rolling log-likelihood request (the whole text scored, token by token). */
export interface RollingResult {
  /** Sum of every text token's log probability (nats); the first token is conditioned on the prefix (BOS) token. */
  logprob: number;
  /** Number of tokens scored (the text's tokens, without BOS). */
  tokens: number;
}

/** Options of greedy generation. */
export interface GenerateOptions {
  /** Stop strings: the output is cut before the first occurrence of any. */
  until: string[];
  /** Most new tokens to generate. */
  maxTokens: number;
}

/** Options of rolling log-likelihood. */
export interface RollingOptions {
  /** Window length in tokens (default: the model's context length). */
  maxLength?: number;
  /** New tokens scored per window after the first (default `maxLength`: disjoint windows). */
  stride?: number;
}

/** Called after each finished unit of work with (done, total). */
export type ProgressCallback = (done: number, total: number) => void;

/**
 * A model the evaluator can score, in lm-evaluation-harness's terms. Results come back in request order.
 * Implementations: {@link LocalModel} (a model directory) and {@link ServerModel} (an OpenAI-compatible server).
 */
export interface LogLikelihoodModel {
  /** A short label for reports (directory or URL). */
  readonly name: string;
  /** log P(continuation | context) and greediness for each request. */
  loglikelihood(requests: LoglikelihoodRequest[], onProgress?: ProgressCallback): Promise<LoglikelihoodResult[]>;
  /** Log-likelihood of each whole text, scored in rolling windows (for perplexity). */
  loglikelihoodRolling(
    texts: string[],
    options?: RollingOptions,
    onProgress?: ProgressCallback,
  ): Promise<RollingResult[]>;
  /** Greedy continuation of each prompt, cut at the first stop string. */
  generate(prompts: string[], options: GenerateOptions, onProgress?: ProgressCallback): Promise<string[]>;
  /** Releases the model's memory or connections. */
  close(): Promise<void>;
}
