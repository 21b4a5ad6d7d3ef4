import { fieldOf } from '../field-of.js';
import { type DocumentFilter, textFilter } from './document-filter.js';
import { stripHtml } from './html.js';

/** Options of {@link formatStackExchange}. */
export interface StackExchangeOptions {
  /** Record field (dotted path) of the question's HTML; default `question`. */
  questionField?: string;
  /** Record field of the answers: an array of `{ body | text, score }`; default `answers`. */
  answersField?: string;
}

interface Answer {
  body: string;
  score: number;
}

/**
 * LLaMA's StackExchange processing: HTML removed and answers ordered by score, highest first (stable for ties).
 * A record with `question` and `answers` fields becomes `Q: question` followed by `A: answer` paragraphs; a record
 * without them keeps its text, stripped of HTML.
 */
export function formatStackExchange(
  text: string,
  meta: Record<string, unknown>,
  options: StackExchangeOptions = {},
): string {
  const question = fieldOf(meta, options.questionField ?? 'question');
  const answers = fieldOf(meta, options.answersField ?? 'answers');
  if (typeof question !== 'string' || !Array.isArray(answers)) return stripHtml(text);
  const parsed: Answer[] = answers
    .map((a) => {
      const r = (typeof a === 'object' && a !== null ? a : {}) as Record<string, unknown>;
      const body = typeof r.body === 'string' ? r.body : typeof r.text === 'string' ? r.text : '';
      return { body, score: typeof r.score === 'number' ? r.score : Number(r.score ?? 0) || 0 };
    })
    .filter((a) => a.body.trim() !== '');
  parsed.sort((a, b) => b.score - a.score);
  return [`Q: ${stripHtml(question)}`, ...parsed.map((a) => `A: ${stripHtml(a.body)}`)].join('\n\n');
}

/** {@link formatStackExchange} as a filter. */
export function stackExchangeFilter(options: StackExchangeOptions = {}): DocumentFilter {
  return textFilter('stackexchange', (text, meta) => formatStackExchange(text, meta, options));
}
