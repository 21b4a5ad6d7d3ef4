/**
 * Batched scoring of token requests on a causal LM: group by length, right-pad, one forward per batch, and read back
 * only the per-position target log-probabilities and argmaxes ([batch, seq] each), never the [batch, seq, vocab] logits.
 * @module
 */
import { crossEntropy, keep, noGrad, type Tensor, tensor, tidy } from '@andes/tensor';
import type { TokenRequest } from './harness.js';
import type { LoglikelihoodResult, ProgressCallback } from './model.js';

/** Anything with a causal-LM forward: ids int32 [batch, seq] → logits float32 [batch, seq, vocab]. */
export interface CausalLm {
  forward(ids: Tensor): Tensor;
}

/** How to batch. */
export interface BatchOptions {
  /** Most rows per forward (default 16). */
  batchSize?: number;
  /** Most padded tokens (rows × longest row) per forward, to bound activation memory (default 8192). */
  maxBatchTokens?: number;
  /** Called with (requests done, total) after each batch. */
  onProgress?: ProgressCallback;
}

/**
 * Splits requests into batches of similar length, longest first (as the harness's `Collator` orders them, so the
 * first batch shows the peak memory). Returns request indices per batch.
 */
export function planBatches(lengths: readonly number[], batchSize: number, maxBatchTokens: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const i of order) {
    const width = current.length === 0 ? lengths[i]! : lengths[current[0]!]!;
    if (current.length > 0 && (current.length >= batchSize || (current.length + 1) * width > maxBatchTokens)) {
      batches.push(current);
      current = [];
    }
    current.push(i);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Scores each request: the sum of log P(target) over its last `scored` tokens, and whether every one of them is the
 * argmax. Rows are right-padded (causal attention keeps the padding from touching real positions) and padded targets
 * are ignored by the cross-entropy.
 */
export async function scoreTokenRequests(
  lm: CausalLm,
  requests: readonly TokenRequest[],
  options: BatchOptions = {},
): Promise<LoglikelihoodResult[]> {
  const batchSize = options.batchSize ?? 16;
  const maxBatchTokens = options.maxBatchTokens ?? 8192;
  const inputLengths = requests.map((r) => r.tokens.length - 1);
  const results: LoglikelihoodResult[] = new Array(requests.length);
  let done = 0;
  for (const batch of planBatches(inputLengths, batchSize, maxBatchTokens)) {
    const width = inputLengths[batch[0]!]!;
    const ids = new Int32Array(batch.length * width);
    const targets = new Int32Array(batch.length * width).fill(-100);
    batch.forEach((r, row) => {
      const tokens = requests[r]!.tokens;
      for (let t = 0; t < tokens.length - 1; t++) {
        ids[row * width + t] = tokens[t]!;
        targets[row * width + t] = tokens[t + 1]!;
      }
    });
    const [nll, argmax] = noGrad(() =>
      tidy(() => {
        const logits = lm.forward(tensor(ids, [batch.length, width], { dtype: 'int32' }));
        const target = tensor(targets, [batch.length, width], { dtype: 'int32' });
        return [keep(crossEntropy(logits, target, { reduction: 'none' })), keep(logits.argmax(-1))] as const;
      }),
    );
    const [nllData, argmaxData] = await Promise.all([nll.data(), argmax.data()]);
    nll.dispose();
    argmax.dispose();
    batch.forEach((r, row) => {
      const { tokens, scored } = requests[r]!;
      const inputLength = tokens.length - 1;
      let logprob = 0;
      let isGreedy = true;
      for (let t = inputLength - scored; t < inputLength; t++) {
        logprob -= nllData[row * width + t]!;
        if (argmaxData[row * width + t] !== tokens[t + 1]) isGreedy = false;
      }
      results[r] = { logprob, isGreedy };
    });
    done += batch.length;
    options.onProgress?.(done, requests.length);
  }
  return results;
}
