/**
 * Token sampling on the host from one row of logits: greedy, temperature, top-k and top-p (nucleus), with a seeded
 * generator so a seed reproduces a generation.
 *
 * @module
 */

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/** A seeded generator (SplitMix32 → uniform floats with 32 random bits), independent of `Math.random`. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}

/** How {@link sampleToken} picks a token. */
export interface SamplingOptions {
  /** Softmax temperature; 0 picks the most likely token (greedy). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or undefined: all). */
  topP?: number;
}

/** Index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * Picks a token id from `logits [V]` (one row, on the host).
 *
 * @throws Error for a negative temperature, topK < 0 or topP outside (0, 1].
 */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: Rng): number {
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  if (!(temperature >= 0)) throw new Error(`sampleToken: temperature must be >= 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`sampleToken: topK must be an integer >= 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`sampleToken: topP must lie in (0, 1], got ${topP}`);
  if (temperature === 0 || topK === 1) return argmax(logits);
  const n = logits.length;
  let order = Array.from({ length: n }, (_, i) => i);
  const filtered = topK > 0 || topP < 1;
  if (filtered) order.sort((a, b) => (logits[b] as number) - (logits[a] as number));
  if (topK > 0 && topK < n) order = order.slice(0, topK);
  // Probabilities in float64 over the kept tokens.
  let max = Number.NEGATIVE_INFINITY;
  for (const i of order) max = Math.max(max, logits[i] as number);
  const probs = order.map((i) => Math.exp(((logits[i] as number) - max) / temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    let cumulative = 0;
    let keep = probs.length;
    for (let j = 0; j < probs.length; j++) {
      cumulative += (probs[j] as number) / total;
      if (cumulative >= topP) {
        keep = j + 1;
        break;
      }
    }
    order = order.slice(0, keep);
    probs.length = keep;
    total = probs.reduce((a, b) => a + b, 0);
  }
  let r = rng() * total;
  for (let j = 0; j < order.length; j++) {
    r -= probs[j] as number;
    if (r < 0) return order[j] as number;
  }
  return order[order.length - 1] as number;
}
