import { type DocumentFilter, textFilter } from './document-filter.js';

/** A language guess: an ISO 639-1 code (`und` when unknown) and a confidence in [0, 1]. */
export interface LanguageGuess {
  /** ISO 639-1 code, e.g. `en`; `und` when undetermined. */
  language: string;
  /** Confidence in [0, 1]. */
  score: number;
}

/**
 * Anything that guesses a text's language — the plug-in point of {@link languageFilter}. The built-in
 * {@link identifyLanguage} is a script and stop-word heuristic; a fastText model (CCNet used `lid.176.bin`) can be
 * plugged in through a binding that maps its `__label__xx` prediction to a {@link LanguageGuess}.
 */
export type LanguageIdentifier = (text: string) => LanguageGuess;

/** Scripts with one dominant language, by Unicode script property. */
const scripts: [RegExp, string][] = [
  [/\p{Script=Hangul}/u, 'ko'],
  [/[\p{Script=Hiragana}\p{Script=Katakana}]/u, 'ja'],
  [/\p{Script=Han}/u, 'zh'],
  [/\p{Script=Cyrillic}/u, 'ru'],
  [/\p{Script=Greek}/u, 'el'],
  [/\p{Script=Arabic}/u, 'ar'],
  [/\p{Script=Hebrew}/u, 'he'],
  [/\p{Script=Devanagari}/u, 'hi'],
  [/\p{Script=Thai}/u, 'th'],
];

/** The most frequent short function words of Latin-script languages (each list distinctive enough to vote). */
const stopwords: Record<string, readonly string[]> = {
  en: [
    'the',
    'and',
    'of',
    'to',
    'is',
    'in',
    'that',
    'it',
    'was',
    'for',
    'with',
    'as',
    'on',
    'are',
    'this',
    'be',
    'by',
    'have',
    'not',
    'from',
  ],
  de: [
    'der',
    'die',
    'und',
    'das',
    'ist',
    'nicht',
    'ein',
    'eine',
    'zu',
    'den',
    'mit',
    'sich',
    'auch',
    'auf',
    'dem',
    'ich',
    'es',
    'von',
    'wir',
    'sie',
  ],
  fr: [
    'le',
    'la',
    'les',
    'et',
    'des',
    'est',
    'une',
    'un',
    'du',
    'que',
    'pour',
    'dans',
    'pas',
    'qui',
    'sur',
    'au',
    'avec',
    'ce',
    'il',
    'nous',
  ],
  es: [
    'el',
    'los',
    'las',
    'y',
    'que',
    'del',
    'es',
    'una',
    'por',
    'con',
    'para',
    'como',
    'pero',
    'su',
    'al',
    'lo',
    'se',
    'muy',
    'está',
    'son',
  ],
  it: [
    'il',
    'di',
    'che',
    'è',
    'per',
    'una',
    'sono',
    'della',
    'non',
    'con',
    'gli',
    'anche',
    'come',
    'ma',
    'nel',
    'questo',
    'alla',
    'degli',
    'delle',
    'lo',
  ],
  pt: [
    'o',
    'os',
    'que',
    'não',
    'uma',
    'um',
    'para',
    'com',
    'é',
    'do',
    'da',
    'em',
    'por',
    'mais',
    'as',
    'dos',
    'das',
    'ao',
    'foi',
    'seu',
  ],
  nl: [
    'de',
    'het',
    'een',
    'en',
    'van',
    'is',
    'niet',
    'dat',
    'op',
    'zijn',
    'met',
    'voor',
    'ook',
    'maar',
    'wij',
    'bij',
    'naar',
    'heeft',
    'deze',
    'dit',
  ],
};
const stopwordSets = Object.entries(stopwords).map(([lang, words]) => [lang, new Set(words)] as const);

/**
 * The built-in language heuristic. Letters are counted by script; a non-Latin script holding most letters decides
 * (`ru` for Cyrillic, `zh`/`ja`/`ko` for Han/kana/Hangul, …). Latin-script text is attributed by stop-word votes
 * among en, de, fr, es, it, pt, nl. The score is the winning share of letters (scripts) or of stop-word votes times
 * the Latin share of letters. Good enough to keep English web pages; not a fastText model.
 */
export function identifyLanguage(text: string): LanguageGuess {
  const sample = text.length > 20_000 ? text.slice(0, 20_000) : text;
  const letters = sample.match(/\p{L}/gu) ?? [];
  if (letters.length === 0) return { language: 'und', score: 0 };
  const counts = new Map<string, number>();
  let latin = 0;
  for (const ch of letters) {
    if (/\p{Script=Latin}/u.test(ch)) {
      latin++;
      continue;
    }
    const hit = scripts.find(([re]) => re.test(ch));
    if (hit) counts.set(hit[1], (counts.get(hit[1]) ?? 0) + 1);
  }
  // Japanese text mixes kana and Han: any kana share above 10% makes Han count as Japanese.
  if ((counts.get('ja') ?? 0) > 0.1 * letters.length)
    counts.set('ja', (counts.get('ja') ?? 0) + (counts.get('zh') ?? 0));
  let best = 'und';
  let bestCount = 0;
  for (const [lang, n] of counts) if (n > bestCount) [best, bestCount] = [lang, n];
  if (bestCount > latin) return { language: best, score: bestCount / letters.length };
  const votes = new Map<string, number>();
  let total = 0;
  for (const word of sample.toLowerCase().match(/\p{L}+/gu) ?? []) {
    for (const [lang, set] of stopwordSets) {
      if (set.has(word)) {
        votes.set(lang, (votes.get(lang) ?? 0) + 1);
        total++;
      }
    }
  }
  if (total === 0) return { language: 'und', score: 0 };
  best = 'und';
  bestCount = 0;
  for (const [lang, n] of votes) if (n > bestCount) [best, bestCount] = [lang, n];
  return { language: best, score: (bestCount / total) * (latin / letters.length) };
}

/** Options of {@link languageFilter}. */
export interface LanguageFilterOptions {
  /** Languages kept (ISO 639-1); default `['en']`. */
  keep?: readonly string[];
  /** Minimum score of the guess; default 0.5 (CCNet kept pages whose fastText score was at least 0.5). */
  minScore?: number;
  /** The identifier; default {@link identifyLanguage}. */
  identify?: LanguageIdentifier;
}

/** Keeps documents whose identified language is in `keep` with at least `minScore` confidence. */
export function languageFilter(options: LanguageFilterOptions = {}): DocumentFilter {
  const keep = new Set(options.keep ?? ['en']);
  const minScore = options.minScore ?? 0.5;
  const identify = options.identify ?? identifyLanguage;
  return textFilter('language', (text) => {
    const guess = identify(text);
    return keep.has(guess.language) && guess.score >= minScore ? text : null;
  });
}
