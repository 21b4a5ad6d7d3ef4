/**
 * Host-side sampling on one row of logits: logit bias, presence and frequency penalties, temperature, top-k,
 * top-p, and a seeded per-request draw. Also the log-probabilities that the OpenAI `logprobs` options report.
 *
 * Order, as in the OpenAI API and vLLM: bias and penalties change the logits; temperature 0 is greedy argmax (first
 * maximum, the same rule as `argmax` in @andes/tensor); otherwise logits are divided by the temperature, cut to the
 * top-k, softmaxed, cut to the smallest set whose mass reaches top-p, and one token is drawn.
 *
 * @module
 */
import { SeededRng } from './rng.js';

/** Per-request sampling settings (OpenAI names, `top_k` as an extension). */
export interface SamplingParams {
  /** 0 means greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]. */
  topP: number;
  /** Keep only the k most likely tokens; 0 disables. */
  topK: number;
  /** Subtracted once from every token already generated (OpenAI `presence_penalty`, -2..2). */
  presencePenalty: number;
  /** Subtracted per occurrence of a token already generated (OpenAI `frequency_penalty`, -2..2). */
  frequencyPenalty: number;
  /** Added to the logit of each token id (OpenAI `logit_bias`, -100..100). */
  logitBias: ReadonlyMap<number, number>;
  /** Seed of this sequence's generator. */
  seed: number;
}

/** Default settings: plain sampling at temperature 1. */
export const DEFAULT_SAMPLING: SamplingParams = {
  temperature: 1,
  topP: 1,
  topK: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  logitBias: new Map(),
  seed: 0,
};

/** One alternative token with its log-probability (natural log). */
export interface TokenLogprob {
  id: number;
  logprob: number;
}

/** Samples tokens for one sequence; keeps the generated-token counts that the penalties need. */
export class Sampler {
  private readonly rng: SeededRng;
  private readonly counts = new Map<number, number>();

  /** `params.seed` seeds this sampler's own generator. */
  constructor(readonly params: SamplingParams) {
    this.rng = new SeededRng(params.seed);
  }

  /** Records a generated token so later penalties see it. */
  observe(id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /**
   * Chooses the next token from `logits` ([vocab] floats, not modified). Does not call `observe`.
   */
  sample(logits: Float32Array): number {
    const p = this.params;
    const adjusted = this.adjust(logits);
    if (p.temperature <= 0) return argmax(adjusted);
    const inv = 1 / p.temperature;
    let cand: Int32Array | null = null;
    if (p.topK > 0 && p.topK < adjusted.length) cand = topKIndices(adjusted, p.topK);
    else if (p.topP < 1) cand = sortedIndices(adjusted);
    if (cand === null) {
      // Whole vocabulary, no sort: a cumulative scan of the unnormalized probabilities.
      const m = maxOf(adjusted);
      let total = 0;
      const w = new Float64Array(adjusted.length);
      for (let i = 0; i < adjusted.length; i++) total += w[i] = Math.exp((adjusted[i]! - m) * inv);
      return drawFrom(w, total, this.rng.next(), null);
    }
    const m = adjusted[cand[0]!]!;
    const w = new Float64Array(cand.length);
    let total = 0;
    for (let j = 0; j < cand.length; j++) total += w[j] = Math.exp((adjusted[cand[j]!]! - m) * inv);
    let keep = cand.length;
    if (p.topP < 1) {
      let acc = 0;
      for (let j = 0; j < cand.length; j++) {
        acc += w[j]!;
        if (acc >= p.topP * total) {
          keep = j + 1;
          break;
        }
      }
      total = 0;
      for (let j = 0; j < keep; j++) total += w[j]!;
    }
    return drawFrom(w.subarray(0, keep), total, this.rng.next(), cand);
  }

  /** Applies logit bias and penalties; returns the input itself when none apply. */
  private adjust(logits: Float32Array): Float32Array {
    const p = this.params;
    const penalize = (p.presencePenalty !== 0 || p.frequencyPenalty !== 0) && this.counts.size > 0;
    if (p.logitBias.size === 0 && !penalize) return logits;
    const out = logits.slice();
    for (const [id, bias] of p.logitBias) if (id >= 0 && id < out.length) out[id] = out[id]! + bias;
    if (penalize) {
      for (const [id, n] of this.counts) {
        if (id >= 0 && id < out.length) out[id] = out[id]! - p.frequencyPenalty * n - p.presencePenalty;
      }
    }
    return out;
  }
}

function drawFrom(w: Float64Array, total: number, u: number, ids: Int32Array | null): number {
  const target = u * total;
  let acc = 0;
  for (let j = 0; j < w.length; j++) {
    acc += w[j]!;
    if (acc > target) return ids ? ids[j]! : j;
  }
  // Rounding can leave target ≥ acc: fall back to the last token with weight.
  for (let j = w.length - 1; j >= 0; j--) if (w[j]! > 0) return ids ? ids[j]! : j;
  return ids ? ids[0]! : 0;
}

/** Index of the first maximum of `x`. */
export function argmax(x: Float32Array): number {
  let best = 0;
  let bv = x[0]!;
  for (let i = 1; i < x.length; i++) {
    if (x[i]! > bv) {
      bv = x[i]!;
      best = i;
    }
  }
  return best;
}

function maxOf(x: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  return m;
}

/** All indices sorted by descending value (ties by ascending index). */
function sortedIndices(x: Float32Array): Int32Array {
  const idx = new Int32Array(x.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => x[b]! - x[a]! || a - b);
}

/** Indices of the k largest values, sorted descending (ties by ascending index). O(V·log k) via a small sorted buffer. */
export function topKIndices(x: Float32Array, k: number): Int32Array {
  k = Math.min(k, x.length);
  const ids = new Int32Array(k);
  const vals = new Float64Array(k).fill(-Infinity);
  let filled = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (filled === k && !(v > vals[k - 1]!)) continue;
    let j = filled < k ? filled++ : k - 1;
    while (j > 0 && vals[j - 1]! < v) {
      vals[j] = vals[j - 1]!;
      ids[j] = ids[j - 1]!;
      j--;
    }
    vals[j] = v;
    ids[j] = i;
  }
  return ids;
}

/** log(Σ exp(x)) computed stably in float64. */
export function logSumExp(x: Float32Array): number {
  const m = maxOf(x);
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - m);
  return m + Math.log(s);
}

/**
 * Log-probabilities under the model's own distribution (log-softmax of raw `logits`, before bias, penalties and
 * temperature): the chosen token's and the `top` most likely alternatives'.
 */
export function tokenLogprobs(
  logits: Float32Array,
  chosen: number,
  top: number,
): { logprob: number; top: TokenLogprob[] } {
  const lse = logSumExp(logits);
  const alts = top > 0 ? Array.from(topKIndices(logits, top), (id) => ({ id, logprob: logits[id]! - lse })) : [];
  return { logprob: logits[chosen]! - lse, top: alts };
}
