import { type DocumentFilter, textFilter } from './document-filter.js';

/** Options of {@link cleanC4} (defaults are C4's, from TFDS `c4_utils` and Raffel et al. 2020 §2.2). */
export interface C4Options {
  /** A kept line needs at least this many words; default 3. */
  minWordsPerLine?: number;
  /** A page needs at least this many sentences after line filtering; default 5. */
  minSentences?: number;
  /** A line with a longer word is dropped; default 1000 characters. */
  maxWordLength?: number;
  /** Pages containing any of these words or phrases (case-insensitive, whole words) are dropped; default none. */
  badWords?: readonly string[];
}

const terminal = ['.', '!', '?', '"', "'"];
const policy = ['terms of use', 'privacy policy', 'cookie policy', 'uses cookies', 'use of cookies', 'use cookies'];
const citation = /\[\d*\]|\[edit\]|\[citation needed\]/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Sentences in a text: runs ending in `.`, `!` or `?` (optionally closed by a quote) followed by space or the end. */
export function countSentences(text: string): number {
  return (text.match(/[^.!?]*[.!?]+["']?(?=\s|$)/g) ?? []).filter((s) => /[\p{L}\p{N}]/u.test(s)).length;
}

/**
 * C4's page cleaning (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", §2.2), returning the kept
 * text or null when the page is dropped:
 * - lines: citation markers (`[1]`, `[edit]`, `[citation needed]`) removed; a line is kept only if it ends in
 *   terminal punctuation (`. ! ? " '`, but not an ellipsis `...`), has ≥ `minWordsPerLine` words, no word longer than
 *   `maxWordLength`, does not mention "javascript", and has no policy phrase ("terms of use", "privacy policy",
 *   "cookie policy", "uses cookies", "use of cookies", "use cookies");
 * - pages: dropped when they contain "lorem ipsum", a curly brace `{`, any of `badWords`, or keep fewer than
 *   `minSentences` sentences.
 */
export function cleanC4(text: string, options: C4Options = {}): string | null {
  const minWords = options.minWordsPerLine ?? 3;
  const maxWord = options.maxWordLength ?? 1000;
  const lower = text.toLowerCase();
  if (lower.includes('lorem ipsum') || text.includes('{')) return null;
  if (options.badWords && options.badWords.length > 0) {
    const pattern = new RegExp(
      `(?<![\\p{L}\\p{N}])(?:${options.badWords.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`,
      'iu',
    );
    if (pattern.test(text)) return null;
  }
  const kept: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(citation, '').trim();
    if (!terminal.some((p) => line.endsWith(p)) || line.endsWith('...')) continue;
    const words = line.split(/\s+/).filter((w) => w !== '');
    if (words.length < minWords || words.some((w) => w.length > maxWord)) continue;
    const l = line.toLowerCase();
    if (l.includes('javascript') || policy.some((p) => l.includes(p))) continue;
    kept.push(line);
  }
  const page = kept.join('\n');
  if (countSentences(page) < (options.minSentences ?? 5)) return null;
  return page;
}

/** {@link cleanC4} as a filter. */
export function c4Filter(options: C4Options = {}): DocumentFilter {
  return textFilter('c4', (text) => cleanC4(text, options));
}
