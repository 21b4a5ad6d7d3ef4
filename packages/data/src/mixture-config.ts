import { type FilterSpec, llamaSourceFilters } from './filters/filter-registry.js';

/** Kinds of data source a mixture can draw from. */
export type SourceType = 'text' | 'jsonl' | 'parquet' | 'shards' | 'glob' | 'synthetic';

/** How a text file is cut into documents. */
export type DocumentSplit = 'paragraph' | 'line' | 'file';

/**
 * One source of a mixture, as written in JSON.
 *
 * - `text`: text file(s); documents are paragraphs (blank-line separated) unless `documents` says otherwise.
 * - `jsonl`: JSON Lines file(s); one document per line, its text in `field` (default `text`). `.jsonl.gz`,
 *   `.json.gz` and `.jsonl.zst` files are decompressed as they stream.
 * - `parquet`: Parquet file(s); one document per row, its text in column `field` (default `text`).
 * - `shards`: pre-tokenized shards written by `prepareShards` (`.tok` files; see SHARDS.md): token ids, no tokenizing.
 * - `glob`: text files; one document per file unless `documents` says otherwise.
 * - `synthetic`: the built-in story generator (see `syntheticStory`), unbounded; `seed` picks the corpus.
 *
 * For file types `path` is a file, a directory (every non-hidden file below it) or a glob pattern,
 * relative to the loader's `baseDir`.
 */
export interface SourceConfig {
  /** Unique name, used in errors and loader state. */
  name: string;
  /** Source kind. */
  type: SourceType;
  /** File, directory or glob pattern (file types only). */
  path?: string;
  /** JSONL field or Parquet column holding the document text; default `text`. Dotted paths (`meta.body`) reach nested fields. */
  field?: string;
  /**
   * Cleaning filters applied in order by `prepareShards` (e.g. `["c4", "exact-dedup"]` or
   * `[{ "name": "language", "keep": ["en"] }]`; see `createFilter`). Training straight from raw files does not run them.
   */
  filters?: FilterSpec[];
  /** Relative sampling weight (> 0); documents are drawn from sources in proportion to weights. */
  weight: number;
  /** Passes over the source before it is exhausted; fractional values stop part-way (by bytes). Unlimited when absent. */
  epochs?: number;
  /** How text files are cut into documents (`text` default `paragraph`, `glob` default `file`). */
  documents?: DocumentSplit;
  /** Seed of the synthetic corpus (synthetic only); default 0. */
  seed?: number;
}

/** A weighted mixture of sources, as written in JSON: `{ "sources": [ ... ] }`. */
export interface MixtureConfig {
  /** The sources, at least one. */
  sources: SourceConfig[];
}

const sourceKeys = new Set(['name', 'type', 'path', 'field', 'weight', 'epochs', 'documents', 'seed', 'filters']);
const sourceTypes = new Set<string>(['text', 'jsonl', 'parquet', 'shards', 'glob', 'synthetic']);
const splits = new Set<string>(['paragraph', 'line', 'file']);

/** Shape check of a `filters` list (names and options are checked by `createFilter` when the filters are built). */
function checkFilterSpecs(filters: unknown, at: string): void {
  if (!Array.isArray(filters)) throw new Error(`${at} must be an array of filter names or { "name": ... } objects`);
  filters.forEach((f, i) => {
    if (typeof f === 'string' && f !== '') return;
    if (isRecord(f) && typeof f.name === 'string' && f.name !== '') return;
    throw new Error(`${at}[${i}] must be a filter name or an object with a "name", got ${JSON.stringify(f)}`);
  });
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Validates a parsed JSON mixture and returns it typed. Besides `{ "sources": [...] }` it accepts
 * `{ "preset": "llama", "paths": { "CommonCrawl": "...", ... } }` (see {@link llamaMixturePreset}). Every error names the offending field, e.g.
 * `mixture.sources[2].weight must be a positive finite number, got -1`.
 *
 * @param json parsed JSON (e.g. `JSON.parse(await readFile('mixture.json', 'utf8'))`).
 * @param where name used as the root of field paths in errors (a file name reads well).
 */
export function parseMixtureConfig(json: unknown, where = 'mixture'): MixtureConfig {
  if (!isRecord(json)) throw new Error(`${where} must be an object with a "sources" array`);
  if ('preset' in json) return parsePresetMixture(json, where);
  for (const key of Object.keys(json)) {
    if (key !== 'sources') throw new Error(`${where}.${key} is not a mixture field (expected only "sources")`);
  }
  if (!Array.isArray(json.sources) || json.sources.length === 0) {
    throw new Error(`${where}.sources must be a non-empty array`);
  }
  const names = new Set<string>();
  const sources = json.sources.map((raw, i) => {
    const at = `${where}.sources[${i}]`;
    if (!isRecord(raw)) throw new Error(`${at} must be an object`);
    for (const key of Object.keys(raw)) {
      if (!sourceKeys.has(key))
        throw new Error(`${at}.${key} is not a source field (known: ${[...sourceKeys].join(', ')})`);
    }
    const { name, type, path, field, weight, epochs, documents, seed, filters } = raw;
    if (typeof name !== 'string' || name === '') throw new Error(`${at}.name must be a non-empty string`);
    const named = `${at}.`;
    if (names.has(name)) throw new Error(`${at}.name ${JSON.stringify(name)} is used by an earlier source`);
    names.add(name);
    if (typeof type !== 'string' || !sourceTypes.has(type)) {
      throw new Error(
        `${named}type (${name}) must be one of ${[...sourceTypes].join(', ')}; got ${JSON.stringify(type)}`,
      );
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw new Error(`${named}weight (${name}) must be a positive finite number, got ${JSON.stringify(weight)}`);
    }
    if (epochs !== undefined && (typeof epochs !== 'number' || !Number.isFinite(epochs) || epochs <= 0)) {
      throw new Error(`${named}epochs (${name}) must be a positive finite number, got ${JSON.stringify(epochs)}`);
    }
    if (type === 'synthetic') {
      if (path !== undefined) throw new Error(`${named}path (${name}) is not used by a synthetic source`);
      if (epochs !== undefined) throw new Error(`${named}epochs (${name}): a synthetic source is unbounded`);
      if (seed !== undefined && (typeof seed !== 'number' || !Number.isInteger(seed))) {
        throw new Error(`${named}seed (${name}) must be an integer, got ${JSON.stringify(seed)}`);
      }
    } else {
      if (typeof path !== 'string' || path === '') {
        throw new Error(`${named}path (${name}) is required for a ${type} source: fill in the file, directory or glob`);
      }
      if (seed !== undefined) throw new Error(`${named}seed (${name}) is only used by synthetic sources`);
    }
    if (
      field !== undefined &&
      ((type !== 'jsonl' && type !== 'parquet') || typeof field !== 'string' || field === '')
    ) {
      throw new Error(
        `${named}field (${name}) must be a non-empty string and only applies to jsonl and parquet sources`,
      );
    }
    if (filters !== undefined) checkFilterSpecs(filters, `${named}filters (${name})`);
    if (
      documents !== undefined &&
      (typeof documents !== 'string' || !splits.has(documents) || (type !== 'text' && type !== 'glob'))
    ) {
      throw new Error(`${named}documents (${name}) must be paragraph, line or file, for text and glob sources only`);
    }
    return raw as unknown as SourceConfig;
  });
  return { sources };
}

/**
 * The LLaMA pretraining mixture (Touvron et al. 2023, Table 1): sampling proportions and epochs per
 * source. Paths are left empty — fill them with {@link llamaMixture}; loading the preset as is fails
 * with an error naming the missing path. Sources are JSONL with a `text` field (RedPajama's layout). Each source
 * carries the paper's cleaning as `filters` (`llamaSourceFilters`), which `prepareShards` applies.
 */
export const llamaMixturePreset: MixtureConfig = {
  sources: (
    [
      { name: 'CommonCrawl', type: 'jsonl', path: '', weight: 67.0, epochs: 1.1 },
      { name: 'C4', type: 'jsonl', path: '', weight: 15.0, epochs: 1.06 },
      { name: 'GitHub', type: 'jsonl', path: '', weight: 4.5, epochs: 0.64 },
      { name: 'Wikipedia', type: 'jsonl', path: '', weight: 4.5, epochs: 2.45 },
      { name: 'Books', type: 'jsonl', path: '', weight: 4.5, epochs: 2.23 },
      { name: 'ArXiv', type: 'jsonl', path: '', weight: 2.5, epochs: 1.06 },
      { name: 'StackExchange', type: 'jsonl', path: '', weight: 2.0, epochs: 1.03 },
    ] as SourceConfig[]
  ).map((s) => ({ ...s, filters: [...(llamaSourceFilters[s.name] ?? [])] })),
};

/**
 * The {@link llamaMixturePreset} with paths filled in, validated.
 *
 * @param paths source name → file, directory or glob, for all seven sources.
 * @example llamaMixture({ CommonCrawl: '/data/cc/*.jsonl', C4: '/data/c4', ... })
 */
export function llamaMixture(paths: Record<string, string>): MixtureConfig {
  for (const name of Object.keys(paths)) {
    if (!llamaMixturePreset.sources.some((s) => s.name === name)) {
      throw new Error(`llamaMixture: unknown source ${JSON.stringify(name)}`);
    }
  }
  const filled = { sources: llamaMixturePreset.sources.map((s) => ({ ...s, path: paths[s.name] ?? '' })) };
  return parseMixtureConfig(filled, 'llama preset');
}

/** A mixture of just the synthetic story corpus: the default data of `npm start`. */
export function syntheticMixture(seed = 0): MixtureConfig {
  return { sources: [{ name: 'stories', type: 'synthetic', weight: 1, seed }] };
}

/** `{ preset: 'llama', paths: { name: path } }` → the filled preset, errors naming `where.paths.<name>`. */
function parsePresetMixture(json: Record<string, unknown>, where: string): MixtureConfig {
  for (const key of Object.keys(json)) {
    if (key !== 'preset' && key !== 'paths')
      throw new Error(`${where}.${key} is not a preset mixture field (expected preset, paths)`);
  }
  if (json.preset !== 'llama') throw new Error(`${where}.preset must be "llama", got ${JSON.stringify(json.preset)}`);
  const paths = json.paths ?? {};
  if (!isRecord(paths)) throw new Error(`${where}.paths must be an object of source name → path`);
  for (const [name, path] of Object.entries(paths)) {
    if (!llamaMixturePreset.sources.some((s) => s.name === name)) {
      const known = llamaMixturePreset.sources.map((s) => s.name).join(', ');
      throw new Error(`${where}.paths.${name} is not a source of the llama preset (${known})`);
    }
    if (typeof path !== 'string')
      throw new Error(`${where}.paths.${name} must be a string, got ${JSON.stringify(path)}`);
  }
  for (const { name } of llamaMixturePreset.sources) {
    if (typeof paths[name] !== 'string' || paths[name] === '') {
      throw new Error(
        `${where}.paths.${name} is required: the llama preset leaves paths to you (JSONL file, directory or glob)`,
      );
    }
  }
  return llamaMixture(paths as Record<string, string>);
}
