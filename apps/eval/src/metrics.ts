/**
 * Metrics and their standard errors, as lm-evaluation-harness computes them.
 * @module
 */

/** A metric's value over a task with its standard error (null when undefined, e.g. one sample). */
export interface MetricValue {
  value: number;
  stderr: number | null;
}

/**
 * Mean with the harness's `mean_stderr`: the sample standard deviation (n − 1 denominator) over √n.
 * For 0/1 scores with mean p this is √(p(1 − p)/(n − 1)).
 */
export function meanWithStderr(values: readonly number[]): MetricValue {
  const n = values.length;
  if (n === 0) throw new Error('meanWithStderr: no values');
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n < 2) return { value: mean, stderr: null };
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { value: mean, stderr: Math.sqrt(sq / (n - 1) / n) };
}

/** SQuAD answer normalisation: lower case, drop punctuation, drop the articles a/an/the, collapse whitespace. */
export function normalizeAnswer(text: string): string {
  const lower = text.toLowerCase();
  const noPunct = lower.replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '');
  const noArticles = noPunct.replace(/\b(a|an|the)\b/g, ' ');
  return noArticles
    .split(/\s+/)
    .filter((w) => w !== '')
    .join(' ');
}

/** 1 when the normalised prediction equals any normalised answer, else 0 (SQuAD exact match). */
export function exactMatch(prediction: string, answers: readonly string[]): number {
  const p = normalizeAnswer(prediction);
  return answers.some((a) => normalizeAnswer(a) === p) ? 1 : 0;
}

function tokenF1(prediction: string, answer: string): number {
  const p = normalizeAnswer(prediction)
    .split(' ')
    .filter((w) => w !== '');
  const a = normalizeAnswer(answer)
    .split(' ')
    .filter((w) => w !== '');
  // SQuAD 2.0 rule for empty answers: F1 is 1 when both are empty, else 0.
  if (p.length === 0 || a.length === 0) return p.length === a.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const w of a) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of p) {
    const c = counts.get(w) ?? 0;
    if (c > 0) {
      common++;
      counts.set(w, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / a.length;
  return (2 * precision * recall) / (precision + recall);
}

/** SQuAD token-overlap F1 of the prediction against its best-matching answer, in [0, 1]. */
export function f1Score(prediction: string, answers: readonly string[]): number {
  let best = 0;
  for (const a of answers) best = Math.max(best, tokenF1(prediction, a));
  return best;
}

/** Perplexity-style summary of a corpus: totals and the derived per-unit measures. */
export interface PerplexityResult {
  /** Sum of token log-probabilities (nats). */
  logprob: number;
  /** Tokens scored. */
  tokens: number;
  /** UTF-8 bytes of the scored texts. */
  bytes: number;
  /** Whitespace-separated words of the scored texts. */
  words: number;
  /** exp(−logprob / tokens). */
  tokenPerplexity: number;
  /** exp(−logprob / words), as the harness's `word_perplexity`. */
  wordPerplexity: number;
  /** −logprob / bytes / ln 2, as the harness's `bits_per_byte`. */
  bitsPerByte: number;
}

/** Combines summed log-probability and unit counts into the perplexity measures (corpus-weighted, as the harness). */
export function perplexityFromTotals(logprob: number, tokens: number, bytes: number, words: number): PerplexityResult {
  return {
    logprob,
    tokens,
    bytes,
    words,
    tokenPerplexity: Math.exp(-logprob / tokens),
    wordPerplexity: Math.exp(-logprob / words),
    bitsPerByte: -logprob / bytes / Math.LN2,
  };
}
