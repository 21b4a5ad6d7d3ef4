/**
 * Batched scoring of token requests on a causal LM: group by length, right-pad, one forward per batch, and read back
 * the per-position target log-probabilities and argmaxes ([batch, seq] each) and one logit row per request, never the
 * whole [batch, seq, vocab] logits.
 * @module
 */
import { crossEntropy, embedding, keep, noGrad, type Tensor, tensor, tidy } from '@andes/tensor';
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

/** Whether `a` is a prefix of (or equal to) `b`. */
function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compareTokens(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * For each input, the index of an input that extends it (itself if none): a causal LM's logits for a prefix are the
 * first positions of any extension's, so requests whose inputs are prefixes of another's (the choices of a question
 * with one-token answers share their whole input) need no forward of their own. Inputs starting with X sort in one
 * block right after X, so one backward pass over the sorted order finds the longest extension.
 */
export function shareRows(inputs: readonly (readonly number[])[]): number[] {
  const order = inputs.map((_, i) => i).sort((a, b) => compareTokens(inputs[a]!, inputs[b]!) || a - b);
  const owner = new Array<number>(inputs.length);
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!;
    const next = order[k + 1];
    owner[i] = next !== undefined && isPrefix(inputs[i]!, inputs[next]!) ? owner[next]! : i;
  }
  return owner;
}

/**
 * Scores each request: the sum of log P(target) over its last `scored` tokens, and whether every one of them is the
 * argmax. Rows are right-padded (causal attention keeps the padding from touching real positions) and padded targets
 * are ignored by the cross-entropy. A request whose input is a prefix of another's rides on that row: its earlier
 * targets are the row's own, and its last target is read from the gathered logits of its last position (a float64
 * log-softmax on the host).
 */
export async function scoreTokenRequests(
  lm: CausalLm,
  requests: readonly TokenRequest[],
  options: BatchOptions = {},
): Promise<LoglikelihoodResult[]> {
  const batchSize = options.batchSize ?? 16;
  const maxBatchTokens = options.maxBatchTokens ?? 8192;
  const inputs = requests.map((r) => r.tokens.slice(0, -1));
  const owner = shareRows(inputs);
  const rows = [...new Set(owner)];
  const members = new Map<number, number[]>(rows.map((r) => [r, []]));
  owner.forEach((o, i) => {
    members.get(o)!.push(i);
  });
  const results: LoglikelihoodResult[] = new Array(requests.length);
  let done = 0;
  for (const batch of planBatches(
    rows.map((r) => inputs[r]!.length),
    batchSize,
    maxBatchTokens,
  ).map((b) => b.map((k) => rows[k]!))) {
    const width = inputs[batch[0]!]!.length;
    const ids = new Int32Array(batch.length * width);
    const targets = new Int32Array(batch.length * width).fill(-100);
    batch.forEach((r, row) => {
      const tokens = requests[r]!.tokens;
      for (let t = 0; t < tokens.length - 1; t++) {
        ids[row * width + t] = tokens[t]!;
        targets[row * width + t] = tokens[t + 1]!;
      }
    });
    // Flat (row, position) of each member's last input token, deduplicated.
    const lastIndex = new Map<number, number>();
    batch.forEach((r, row) => {
      for (const m of members.get(r)!) {
        const flat = row * width + inputs[m]!.length - 1;
        if (!lastIndex.has(flat)) lastIndex.set(flat, lastIndex.size);
      }
    });
    const gatherIds = Int32Array.from(lastIndex.keys());
    const [nll, argmax, last] = noGrad(() =>
      tidy(() => {
        const logits = lm.forward(tensor(ids, [batch.length, width], { dtype: 'int32' }));
        const vocab = logits.shape[2]!;
        const target = tensor(targets, [batch.length, width], { dtype: 'int32' });
        const lastLogits = embedding(
          logits.reshape([batch.length * width, vocab]),
          tensor(gatherIds, [gatherIds.length], { dtype: 'int32' }),
        );
        return [
          keep(crossEntropy(logits, target, { reduction: 'none' })),
          keep(logits.argmax(-1)),
          keep(lastLogits),
        ] as const;
      }),
    );
    const vocab = last.shape[1]!;
    const [nllData, argmaxData, lastData] = await Promise.all([nll.data(), argmax.data(), last.data()]);
    nll.dispose();
    argmax.dispose();
    last.dispose();
    batch.forEach((r, row) => {
      for (const m of members.get(r)!) {
        const { tokens, scored } = requests[m]!;
        const inputLength = tokens.length - 1;
        if (scored === 0) {
          results[m] = { logprob: 0, isGreedy: true };
          continue;
        }
        let logprob = 0;
        let isGreedy = true;
        // Earlier targets coincide with the row's own: read the fused cross-entropy and argmax.
        for (let t = inputLength - scored; t < inputLength - 1; t++) {
          logprob -= nllData[row * width + t]!;
          if (argmaxData[row * width + t] !== tokens[t + 1]) isGreedy = false;
        }
        const k = lastIndex.get(row * width + inputLength - 1)!;
        const logits = lastData.subarray(k * vocab, (k + 1) * vocab);
        const final = tokens[inputLength]!;
        let max = Number.NEGATIVE_INFINITY;
        let best = 0;
        for (let v = 0; v < vocab; v++) {
          if (logits[v]! > max) {
            max = logits[v]!;
            best = v;
          }
        }
        let sum = 0;
        for (let v = 0; v < vocab; v++) sum += Math.exp(logits[v]! - max);
        logprob += logits[final]! - max - Math.log(sum);
        if (best !== final) isGreedy = false;
        results[m] = { logprob, isGreedy };
      }
    });
    done += batch.reduce((s, r) => s + members.get(r)!.length, 0);
    options.onProgress?.(done, requests.length);
  }
  return results;
}
