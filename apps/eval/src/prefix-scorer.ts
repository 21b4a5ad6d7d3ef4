/**
 * Scoring with a shared context computed once: the choices of a multiple-choice question (HellaSwag-style endings,
 * the built-in `story-names`) share their whole context, so the context is prefilled into a KV cache once and only
 * each continuation's tokens run afterwards. Same numbers as scoring each request in full; far fewer tokens.
 * @module
 */
import { KvCache, type LlamaForCausalLM } from '@andes/nn';
import type { Tensor } from '@andes/tensor';
import type { TokenRequest } from './harness.js';
import type { LoglikelihoodResult } from './model.js';

/** The key of a request's context: every token before the scored ones. */
function contextKey(request: TokenRequest): string {
  return request.tokens.slice(0, request.tokens.length - request.scored).join(',');
}

/**
 * Indices of requests worth scoring through a shared context: groups of two or more requests with identical context
 * tokens, at least one of which scores more than one token (one-token choices already share a batched row), and
 * where computing the context once at least halves the tokens run (otherwise batched rows are the better deal).
 */
export function sharedContextGroups(requests: readonly TokenRequest[]): number[][] {
  const groups = new Map<string, number[]>();
  requests.forEach((r, i) => {
    if (r.scored === 0) return;
    const key = contextKey(r);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  return [...groups.values()].filter((g) => {
    if (g.length < 2 || !g.some((i) => requests[i]!.scored > 1)) return false;
    const first = requests[g[0]!]!;
    const full = g.reduce((s, i) => s + requests[i]!.tokens.length - 1, 0);
    const cached = first.tokens.length - first.scored + g.reduce((s, i) => s + requests[i]!.scored - 1, 0);
    return 2 * cached <= full;
  });
}

async function readRows(t: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** Float64 log-softmax of `row` at `target`, and whether `target` is its (first) argmax. */
function scoreRow(row: Float32Array, target: number): { logprob: number; greedy: boolean } {
  let max = Number.NEGATIVE_INFINITY;
  let best = 0;
  for (let v = 0; v < row.length; v++) {
    if (row[v]! > max) {
      max = row[v]!;
      best = v;
    }
  }
  let sum = 0;
  for (let v = 0; v < row.length; v++) sum += Math.exp(row[v]! - max);
  return { logprob: row[target]! - max - Math.log(sum), greedy: best === target };
}

/**
 * Scores the requests of `groups` (each a set of request indices with one shared context) with one KV-cache slot:
 * prefill the context, then prefill each continuation (minus its last token) from the context's end, overwriting
 * the previous continuation's positions. Writes into `results`; calls `onDone(count)` after each group.
 */
export async function scoreSharedContexts(
  model: LlamaForCausalLM,
  requests: readonly TokenRequest[],
  groups: readonly number[][],
  results: LoglikelihoodResult[],
  onDone?: (count: number) => void,
): Promise<void> {
  if (groups.length === 0) return;
  const longest = groups.flat().reduce((m, i) => Math.max(m, requests[i]!.tokens.length - 1), 0);
  const cache = new KvCache(model.config, { maxBatch: 1, maxSeq: longest });
  const vocab = model.config.vocab_size;
  try {
    for (const group of groups) {
      const first = requests[group[0]!]!;
      const context = first.tokens.slice(0, first.tokens.length - first.scored);
      cache.release(0);
      const contextLast = await readRows(model.prefill(context, { cache, slot: 0, start: 0 }));
      for (const i of group) {
        const { tokens, scored } = requests[i]!;
        const continuation = tokens.slice(context.length);
        let { logprob, greedy } = scoreRow(contextLast, continuation[0]!);
        if (scored > 1) {
          const rows = await readRows(
            model.prefill(continuation.slice(0, -1), { cache, slot: 0, start: context.length, allLogits: true }),
          );
          for (let k = 1; k < scored; k++) {
            const s = scoreRow(rows.subarray((k - 1) * vocab, k * vocab), continuation[k]!);
            logprob += s.logprob;
            greedy &&= s.greedy;
          }
        }
        results[i] = { logprob, isGreedy: greedy };
      }
      onDone?.(group.length);
    }
  } finally {
    cache.dispose();
  }
}
