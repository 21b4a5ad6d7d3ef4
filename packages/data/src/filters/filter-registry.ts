import { arxivFilter } from './arxiv.js';
import { c4Filter } from './c4.js';
import { exactDedupFilter, lineDedupFilter } from './dedup.js';
import type { DocumentFilter } from './document-filter.js';
import { FastTextModel } from './fasttext-model.js';
import { githubFilter } from './github.js';
import { languageFilter } from './language-id.js';
import { nearDedupFilter } from './near-dedup.js';
import { stackExchangeFilter } from './stackexchange.js';
import { wikipediaFilter } from './wikipedia.js';

/**
 * Node's `fs` and `path`, fetched synchronously only when a filter names a file (a fastText model, a word list):
 * `createFilter` is synchronous, and a static `node:` import would keep the main entry out of browsers.
 */
function nodeFiles(where: string): {
  readFileSync: typeof import('node:fs').readFileSync;
  resolve: typeof import('node:path').resolve;
} {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (!get) throw new Error(`${where}: reading filter files needs Node (>= 20.16); pass bytes or inline lists instead`);
  const fs = get('node:fs') as typeof import('node:fs');
  const path = get('node:path') as typeof import('node:path');
  return { readFileSync: fs.readFileSync, resolve: path.resolve };
}

/** A filter as written in a mixture: its name, or `{ "name": ..., ...options }`. */
export type FilterSpec = string | { name: string; [option: string]: unknown };

type OptionKind = 'number' | 'string' | 'strings';

/** Every filter name with its options and their kinds. */
const filterOptions: Record<string, Record<string, OptionKind>> = {
  'line-dedup': { minChars: 'number' },
  'exact-dedup': {},
  'near-dedup': {
    shingleWords: 'number',
    permutations: 'number',
    bands: 'number',
    threshold: 'number',
    seed: 'number',
  },
  language: { keep: 'strings', minScore: 'number', model: 'string' },
  c4: {
    minWordsPerLine: 'number',
    minSentences: 'number',
    maxWordLength: 'number',
    badWords: 'strings',
    badWordsFile: 'string',
  },
  github: {
    licenseField: 'string',
    licenses: 'strings',
    maxLineLength: 'number',
    maxMeanLineLength: 'number',
    minAlphanumericFraction: 'number',
  },
  wikipedia: {},
  arxiv: {},
  stackexchange: { questionField: 'string', answersField: 'string' },
};

/** Names accepted by {@link createFilter}. */
export const filterNames: readonly string[] = Object.keys(filterOptions);

/**
 * The paper's per-source preprocessing (LLaMA §2) as filter lists for the sources of `llamaMixturePreset`.
 * CommonCrawl: CCNet's line dedup and language identification, then exact dedup; C4: C4's heuristics; GitHub: license
 * and quality heuristics, exact file dedup; Wikipedia: markup stripping; Books: near-duplicate removal; ArXiv: LaTeX
 * cleaning; StackExchange: HTML stripping, answers by score.
 */
export const llamaSourceFilters: Readonly<Record<string, readonly FilterSpec[]>> = {
  CommonCrawl: ['line-dedup', { name: 'language', keep: ['en'] }, 'exact-dedup'],
  C4: ['c4', 'exact-dedup'],
  GitHub: ['github', 'exact-dedup'],
  Wikipedia: ['wikipedia'],
  Books: [{ name: 'near-dedup', threshold: 0.9 }],
  ArXiv: ['arxiv'],
  StackExchange: ['stackexchange'],
};

function checkOption(kind: OptionKind, value: unknown): boolean {
  if (kind === 'number') return typeof value === 'number' && Number.isFinite(value);
  if (kind === 'string') return typeof value === 'string';
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/**
 * Builds a filter from its spec. Errors name the place (`where`), the filter and the option.
 *
 * @param spec `"c4"` or `{ "name": "c4", "badWordsFile": "bad-words.txt" }`.
 * @param where prefix of errors, e.g. `mixture.sources[1].filters[0]`.
 * @param baseDir directory that file options (`badWordsFile`) are resolved against.
 */
export function createFilter(spec: FilterSpec, where = 'filter', baseDir = process.cwd()): DocumentFilter {
  const { name, ...options } = typeof spec === 'string' ? { name: spec } : spec;
  const known = filterOptions[name];
  if (!known) throw new Error(`${where}: unknown filter ${JSON.stringify(name)} (known: ${filterNames.join(', ')})`);
  for (const [key, value] of Object.entries(options)) {
    const kind = known[key];
    if (!kind) {
      const list = Object.keys(known).join(', ') || 'none';
      throw new Error(`${where}: filter ${name} has no option ${JSON.stringify(key)} (options: ${list})`);
    }
    if (!checkOption(kind, value)) {
      throw new Error(
        `${where}: option ${key} of filter ${name} must be a ${kind === 'strings' ? 'list of strings' : kind}`,
      );
    }
  }
  const o = options as Record<string, never>;
  switch (name) {
    case 'line-dedup':
      return lineDedupFilter(o);
    case 'exact-dedup':
      return exactDedupFilter();
    case 'near-dedup':
      return nearDedupFilter(o);
    case 'language': {
      const { model, ...rest } = options as { model?: string; keep?: string[]; minScore?: number };
      if (model === undefined) return languageFilter(rest);
      const { readFileSync, resolve } = nodeFiles(where);
      const path = resolve(baseDir, model);
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(path);
      } catch (err) {
        throw new Error(`${where}: cannot read fastText model ${path}: ${(err as Error).message}`);
      }
      return languageFilter({ ...rest, identify: FastTextModel.fromBytes(bytes, path).identifier() });
    }
    case 'c4': {
      const { badWordsFile, ...rest } = options as { badWordsFile?: string; badWords?: string[] };
      let badWords = rest.badWords ?? [];
      if (badWordsFile !== undefined) {
        const { readFileSync, resolve } = nodeFiles(where);
        const path = resolve(baseDir, badWordsFile);
        let text: string;
        try {
          text = readFileSync(path, 'utf8');
        } catch (err) {
          throw new Error(`${where}: cannot read badWordsFile ${path}: ${(err as Error).message}`);
        }
        badWords = [
          ...badWords,
          ...text
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l !== ''),
        ];
      }
      return c4Filter({ ...rest, badWords });
    }
    case 'github':
      return githubFilter(o);
    case 'wikipedia':
      return wikipediaFilter();
    case 'arxiv':
      return arxivFilter();
    default:
      return stackExchangeFilter(o);
  }
}
