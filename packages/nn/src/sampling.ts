/**
 * The one host sampler (llama2.c keeps a single Sampler too): `generate` and andes-serve draw every token through it.
 * One row of logits at a time: logit bias, presence and frequency penalties, temperature, top-k, top-p, and a seeded
 * per-sequence draw. Also the log-probabilities that the OpenAI `logprobs` options report.
 *
 * Order, as in the OpenAI API and vLLM: bias and penalties change the logits; temperature 0 is greedy argmax (first
 * maximum, the same rule as `argmax` in @andes/tensor); otherwise logits are divided by the temperature, cut to the
 * top-k, softmaxed, cut to the smallest set whose mass reaches top-p, and one token is drawn.
 *
 * @module
 */
import { mixSeed, SeededRandom } from '@andes/tensor';

/** Sampling settings, all given (OpenAI names, `top_k` as an extension); {@link SamplingOptions} is the partial form. */
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
  /** Seed of this sequence's generator: any finite number; its integer part (mod 2^53) selects the stream. */
  seed: number;
}

/** Sampling settings where every field is optional (defaults: {@link DEFAULT_SAMPLING}). */
export type SamplingOptions = Partial<SamplingParams>;

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

/** The settings with defaults filled in, checked. @throws Error naming the first invalid setting. */
function resolveParams(options: SamplingOptions): SamplingParams {
  const d = DEFAULT_SAMPLING;
  // Only the sampling fields: callers may pass a wider options object (generate's, a request's).
  const p: SamplingParams = {
    temperature: options.temperature ?? d.temperature,
    topP: options.topP ?? d.topP,
    topK: options.topK ?? d.topK,
    presencePenalty: options.presencePenalty ?? d.presencePenalty,
    frequencyPenalty: options.frequencyPenalty ?? d.frequencyPenalty,
    logitBias: options.logitBias ?? d.logitBias,
    seed: options.seed ?? d.seed,
  };
  if (!(p.temperature >= 0 && Number.isFinite(p.temperature))) {
    throw new Error(`Sampler: temperature must be a finite number >= 0, got ${p.temperature}`);
  }
  if (!Number.isInteger(p.topK) || p.topK < 0) throw new Error(`Sampler: topK must be an integer >= 0, got ${p.topK}`);
  if (!(p.topP > 0 && p.topP <= 1)) throw new Error(`Sampler: topP must lie in (0, 1], got ${p.topP}`);
  for (const key of ['presencePenalty', 'frequencyPenalty'] as const) {
    if (!Number.isFinite(p[key])) throw new Error(`Sampler: ${key} must be a finite number, got ${p[key]}`);
  }
  for (const [id, bias] of p.logitBias) {
    if (!Number.isFinite(bias)) throw new Error(`Sampler: logitBias of token ${id} must be finite, got ${bias}`);
  }
  if (!Number.isFinite(p.seed)) throw new Error(`Sampler: seed must be a finite number, got ${p.seed}`);
  return p;
}

/** A 32-bit generator seed from any finite seed: the low and high words of its integer part (mod 2^53), mixed. */
function generatorSeed(seed: number): number {
  const n = Math.trunc(seed) % 2 ** 53;
  return mixSeed(n >>> 0, Math.floor(n / 2 ** 32));
}

/** Samples tokens for one sequence; keeps the generated-token counts that the penalties need. */
export class Sampler {
  /** The settings, defaults filled in. */
  readonly params: SamplingParams;
  private readonly rng: SeededRandom;
  private readonly counts = new Map<number, number>();
  private scratch = new Float64Array(0);

  /**
   * `options.seed` seeds this sampler's own generator, so a sequence's draws depend only on its seed and logits.
   *
   * @throws Error naming the setting when one is out of range (negative temperature, topP outside (0, 1], …).
   */
  constructor(options: SamplingOptions = {}) {
    this.params = resolveParams(options);
    this.rng = new SeededRandom(generatorSeed(this.params.seed));
  }

  /**
   * Whether the next choice is the raw logits' first maximum (temperature 0, no bias, no penalty that has taken
   * effect), so a caller may take it on the device and read back one id instead of the whole row.
   */
  isPlainGreedy(): boolean {
    const p = this.params;
    const penalized = (p.presencePenalty !== 0 || p.frequencyPenalty !== 0) && this.counts.size > 0;
    return p.temperature === 0 && p.logitBias.size === 0 && !penalized;
  }

  /** Records a generated token so later penalties see it. */
  observe(id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /**
   * Chooses the next token from `logits` ([vocab] floats, not modified). Does not call `observe`.
   */
  sample(logits: Float32Array): number {
    if (logits.length === 0) throw new Error('Sampler.sample: empty logits');
    const p = this.params;
    const adjusted = this.adjust(logits);
    if (p.temperature <= 0) return argmax(adjusted);
    const inv = 1 / p.temperature;
    const m = maxOf(adjusted);
    if (p.topK > 0 && p.topK < adjusted.length) {
      const cand = topKIndices(adjusted, p.topK);
      const w = new Float64Array(cand.length);
      for (let j = 0; j < cand.length; j++) w[j] = Math.exp((adjusted[cand[j]!]! - m) * inv);
      return this.drawNucleus(w, cand);
    }
    // Whole vocabulary: unnormalized probabilities in a reused buffer.
    if (this.scratch.length !== adjusted.length) this.scratch = new Float64Array(adjusted.length);
    const w = this.scratch;
    let total = 0;
    for (let i = 0; i < adjusted.length; i++) total += w[i] = Math.exp((adjusted[i]! - m) * inv);
    if (p.topP >= 1) return drawFrom(w, total, this.rng.next(), null);
    // The nucleus is the smallest set of most likely tokens holding top-p of the mass. Find its weight threshold
    // by a native sort of the candidate weights (no index sort): the tokens above a cutoff, lowered until they
    // hold enough mass, since every token below the cutoff is less likely than every one above it.
    const target = p.topP * total;
    let cutoff = 1e-3;
    for (;;) {
      let mass = 0;
      for (let i = 0; i < w.length; i++) if (w[i]! >= cutoff) mass += w[i]!;
      if (mass >= target || cutoff < 1e-300) break;
      cutoff *= 1e-3;
    }
    let count = 0;
    for (let i = 0; i < w.length; i++) if (w[i]! >= cutoff) count++;
    const sorted = new Float64Array(count);
    for (let i = 0, k = 0; i < w.length; i++) if (w[i]! >= cutoff) sorted[k++] = w[i]!;
    sorted.sort();
    // Walk down from the largest weight until the mass reaches the target: `threshold` is the smallest kept weight
    // and `ties` how many tokens of exactly that weight are kept (lowest ids first).
    let acc = 0;
    let threshold = sorted[count - 1]!;
    let keptAtThreshold = 0;
    for (let j = count - 1; j >= 0; j--) {
      acc += sorted[j]!;
      if (sorted[j]! !== threshold) {
        threshold = sorted[j]!;
        keptAtThreshold = 0;
      }
      keptAtThreshold++;
      if (acc >= target) break;
    }
    // Draw over the nucleus in id order.
    const u = this.rng.next() * acc;
    let run = 0;
    let last = -1;
    let ties = keptAtThreshold;
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      if (wi < threshold || (wi === threshold && ties-- <= 0)) continue;
      run += wi;
      last = i;
      if (run > u) return i;
    }
    return last;
  }

  /** Draws from top-k candidates `ids` with weights `w` (sorted descending), cut to top-p of their mass. */
  private drawNucleus(w: Float64Array, ids: Int32Array): number {
    let all = 0;
    for (let j = 0; j < w.length; j++) all += w[j]!;
    const target = this.params.topP * all;
    let keep = w.length;
    let mass = all;
    if (this.params.topP < 1) {
      let acc = 0;
      for (let j = 0; j < w.length; j++) {
        acc += w[j]!;
        if (acc >= target) {
          keep = j + 1;
          mass = acc;
          break;
        }
      }
    }
    return drawFrom(w.subarray(0, keep), mass, this.rng.next(), ids);
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
export function argmax(x: ArrayLike<number>): number {
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
