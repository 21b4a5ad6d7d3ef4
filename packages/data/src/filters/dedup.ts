import { type DocumentFilter, textFilter } from './document-filter.js';
import { hashKey64 } from './hashing.js';

/**
 * CCNet's normalisation before comparing paragraphs: lower case, digits replaced by 0, punctuation and extra
 * whitespace removed — so lines differing only in a date or a comma count as the same.
 */
export function normalizeLine(line: string): string {
  return line
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/\d/g, '0')
    .replace(/[\p{P}\p{S}]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Options of {@link lineDedupFilter}. */
export interface LineDedupOptions {
  /** Normalized lines shorter than this are never removed (blank lines, "Home", …); default 0. */
  minChars?: number;
}

/**
 * Line-level deduplication (CCNet, used for LLaMA's CommonCrawl): a line whose normalized form already appeared in
 * an earlier document — or earlier in the same one — is removed; a document left with no text is dropped. Lines
 * are remembered by a 64-bit hash (8–20 bytes each in memory).
 */
export function lineDedupFilter(options: LineDedupOptions = {}): DocumentFilter {
  const seen = new Set<string>();
  const minChars = options.minChars ?? 0;
  return textFilter('line-dedup', (text) => {
    const kept: string[] = [];
    for (const line of text.split('\n')) {
      const normalized = normalizeLine(line);
      if (normalized === '' || normalized.length < minChars) {
        kept.push(line);
        continue;
      }
      const key = hashKey64(normalized);
      if (seen.has(key)) continue;
      seen.add(key);
      kept.push(line);
    }
    return kept.join('\n');
  });
}

/**
 * Exact document deduplication (LLaMA's GitHub "at the file level, with exact matches"): a document whose text
 * (whitespace at the ends ignored) equals an earlier one is dropped. Remembers one 64-bit hash per document.
 */
export function exactDedupFilter(): DocumentFilter {
  const seen = new Set<string>();
  return textFilter('exact-dedup', (text) => {
    const key = hashKey64(text.trim());
    if (seen.has(key)) return null;
    seen.add(key);
    return text;
  });
}
