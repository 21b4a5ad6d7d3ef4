/**
 * Corpus perplexity and bits per byte from rolling log-likelihoods, as lm-evaluation-harness's perplexity tasks.
 * @module
 */
import { readFileSync } from 'node:fs';
import { type PerplexityResult, perplexityFromTotals } from './metrics.js';
import type { LogLikelihoodModel, ProgressCallback, RollingOptions } from './model.js';

/**
 * Reads documents for perplexity: each line's `"text"` of a `.jsonl` file is one document; any other file is one
 * document as a whole. Throws `file:line: …` for a JSONL line without a string `"text"`.
 */
export function readDocuments(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  if (!path.endsWith('.jsonl')) return [text];
  const docs: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: invalid JSON (${(e as Error).message})`);
    }
    const value = (row as { text?: unknown } | null)?.text;
    if (typeof value !== 'string') throw new Error(`${path}:${i + 1}: expected an object with a string "text" field`);
    docs.push(value);
  });
  return docs;
}

/** Words as the harness's wikitext task counts them: `len(re.split(r"\s+", doc))`. */
export function countWords(text: string): number {
  return text.split(/\s+/).length;
}

/**
 * Scores every document with rolling windows and sums over the corpus: token perplexity, word perplexity and bits
 * per byte (UTF-8 bytes), weighted by corpus totals as the harness's `weighted_perplexity` and `bits_per_byte`.
 */
export async function evaluatePerplexity(
  model: LogLikelihoodModel,
  documents: readonly string[],
  options: RollingOptions = {},
  onProgress?: ProgressCallback,
): Promise<PerplexityResult> {
  const docs = documents.filter((d) => d.length > 0);
  if (docs.length === 0) throw new Error('evaluatePerplexity: no non-empty documents');
  const results = await model.loglikelihoodRolling(docs, options, onProgress);
  let logprob = 0;
  let tokens = 0;
  let bytes = 0;
  let words = 0;
  docs.forEach((d, i) => {
    logprob += results[i]!.logprob;
    tokens += results[i]!.tokens;
    bytes += Buffer.byteLength(d, 'utf8');
    words += countWords(d);
  });
  return perplexityFromTotals(logprob, tokens, bytes, words);
}
