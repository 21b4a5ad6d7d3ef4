import { open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { FilterReport } from '../filters/document-filter.js';
import type { FilterSpec } from '../filters/filter-registry.js';
import type { MixtureConfig } from '../mixture-config.js';
import type { ShardDtype } from '../shard-format.js';

/** One shard as the manifest lists it. */
export interface ManifestShard {
  /** Path relative to the manifest's directory, `/`-separated. */
  path: string;
  /** Documents in the shard. */
  documents: number;
  /** Tokens in the shard. */
  tokens: number;
  /** File size in bytes. */
  bytes: number;
  /** SHA-256 of the file, hex. */
  sha256: string;
}

/** Documents and UTF-8 bytes. */
export interface DocumentCounts {
  /** Documents. */
  documents: number;
  /** UTF-8 bytes of their text. */
  bytes: number;
}

/** What `prepare` did to one source of the mixture. */
export interface ManifestSource {
  /** Source name from the mixture. */
  name: string;
  /** Directory of its shards, relative to the manifest. */
  directory: string;
  /** Sampling weight from the mixture. */
  weight: number;
  /** Epochs from the mixture (absent: unlimited). */
  epochs?: number;
  /** The filters applied, as written in the mixture. */
  filters: FilterSpec[];
  /** Input files read (this slice's share) and their documents and bytes. */
  input: DocumentCounts & { files: number };
  /** Documents, bytes and tokens written. */
  kept: DocumentCounts & { tokens: number };
  /** Documents and bytes the filters removed (input − kept). */
  removed: DocumentCounts;
  /** Per-filter counts, in filter order. */
  filterReports: FilterReport[];
  /** The shards, in reading order. */
  shards: ManifestShard[];
}

/** `manifest.json` of a shard directory. */
export interface ShardManifest {
  /** Always `andes-shards`. */
  format: 'andes-shards';
  /** Manifest version (1). */
  version: 1;
  /** The tokenizer the shards were written with. */
  tokenizer: { file: string; sha256: string; vocabSize: number; bosId: number; eosId: number };
  /** Token storage of every shard. */
  dtype: ShardDtype;
  /** Slices of the inputs this manifest covers, `[i]` of `count` (all of them once merged). */
  slices: number[];
  /** Into how many slices the inputs were cut (1: not sliced). */
  sliceCount: number;
  /** Per source, in mixture order. */
  sources: ManifestSource[];
}

/** The manifest file of slice `index` of `count` (`manifest.json` when not sliced). */
export function manifestFileName(index: number, count: number): string {
  return count === 1 ? 'manifest.json' : `manifest-${index}-of-${count}.json`;
}

/** Writes JSON atomically (temporary file, fsync, rename). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

/** Reads and checks a `manifest.json` (or a slice's manifest); errors name the file and the field. */
export async function readShardManifest(path: string): Promise<ShardManifest> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read the shard manifest: ${(err as Error).message}`);
  }
  return parseShardManifest(json, path);
}

/** Checks a parsed `manifest.json`; errors name `path` and the field. */
export function parseShardManifest(json: unknown, path: string): ShardManifest {
  const m = json as ShardManifest;
  if (typeof m !== 'object' || m === null || m.format !== 'andes-shards') {
    throw new Error(`${path}: not a shard manifest (format must be "andes-shards")`);
  }
  if (m.version !== 1) throw new Error(`${path}: manifest version ${JSON.stringify(m.version)} is not supported`);
  if (!Array.isArray(m.sources) || m.sources.length === 0)
    throw new Error(`${path}: sources must be a non-empty array`);
  if (typeof m.tokenizer?.vocabSize !== 'number') throw new Error(`${path}: tokenizer.vocabSize is missing`);
  m.sources.forEach((s, i) => {
    if (typeof s.name !== 'string' || !Array.isArray(s.shards) || typeof s.weight !== 'number') {
      throw new Error(`${path}: sources[${i}] needs a name, a weight and a shards array`);
    }
  });
  return m;
}

function addCounts<T extends object>(a: T, b: T): T {
  const out = { ...a } as Record<string, number>;
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + (v as number);
  return out as T;
}

/**
 * Joins the slices' manifests (`manifest-<i>-of-<N>.json`) in `dir` into `manifest.json`: counts and filter reports
 * are summed, shard lists concatenated in slice order. Every slice must be present, written with the same tokenizer
 * and mixture. Returns the merged manifest.
 */
export async function mergeShardManifests(dir: string): Promise<ShardManifest> {
  const names = (await readdir(dir)).filter((n) => /^manifest-\d+-of-\d+\.json$/.test(n));
  if (names.length === 0) throw new Error(`${dir}: no slice manifests (manifest-<i>-of-<N>.json) to merge`);
  const parts = await Promise.all(names.map((n) => readShardManifest(join(dir, n))));
  parts.sort((a, b) => a.slices[0]! - b.slices[0]!);
  const count = parts[0]!.sliceCount;
  const present = new Set(parts.flatMap((p) => p.slices));
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !present.has(i));
  if (missing.length > 0) throw new Error(`${dir}: slices ${missing.join(', ')} of ${count} are missing`);
  const first = parts[0]!;
  for (const p of parts) {
    if (p.sliceCount !== count)
      throw new Error(`${dir}: slices disagree on the slice count (${count} vs ${p.sliceCount})`);
    if (p.tokenizer.sha256 !== first.tokenizer.sha256) {
      throw new Error(`${dir}: slice ${p.slices[0]} used another tokenizer (${p.tokenizer.file})`);
    }
    const names = p.sources.map((s) => s.name).join(',');
    if (names !== first.sources.map((s) => s.name).join(',')) {
      throw new Error(`${dir}: slice ${p.slices[0]} was prepared from another mixture (sources ${names})`);
    }
  }
  const sources = first.sources.map((s, i) => {
    const all = parts.map((p) => p.sources[i]!);
    return {
      ...s,
      input: all.map((a) => a.input).reduce(addCounts),
      kept: all.map((a) => a.kept).reduce(addCounts),
      removed: all.map((a) => a.removed).reduce(addCounts),
      filterReports: s.filterReports.map((r, f) => {
        const sum = { ...r };
        for (const key of ['documentsIn', 'documentsRemoved', 'documentsChanged', 'bytesIn', 'bytesRemoved'] as const) {
          sum[key] = all.reduce((total, a) => total + a.filterReports[f]![key], 0);
        }
        return sum;
      }),
      shards: all.flatMap((a) => a.shards),
    };
  });
  const merged: ShardManifest = { ...first, slices: [...present].sort((a, b) => a - b), sources };
  await writeJsonAtomic(join(dir, 'manifest.json'), merged);
  return merged;
}

/**
 * The mixture that trains on a shard directory: one `shards` source per manifest source, with the weights and
 * epochs the data was prepared with. Paths are relative to the manifest's directory (pass it as `baseDir`).
 */
export function mixtureFromManifest(manifest: ShardManifest): MixtureConfig {
  return {
    sources: manifest.sources.map((s) => ({
      name: s.name,
      type: 'shards' as const,
      path: s.directory,
      weight: s.weight,
      ...(s.epochs === undefined ? {} : { epochs: s.epochs }),
    })),
  };
}
