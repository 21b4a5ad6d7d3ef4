/**
 * The on-disk memory of the tuner: one JSON file per (adapter, Andes version) under `ANDES_CACHE_DIR` (default
 * `$XDG_CACHE_HOME/andes` or `~/.cache/andes`), mapping `family|shapeClass` to a variant id. Written atomically
 * (the one atomic writer of `@andes/tensor/node`) so a crash or a concurrent process never leaves half a file. Node only: in a browser the
 * cache lives in memory for the page's lifetime.
 *
 * @module
 */

import { fnv1a32 } from '../../random/seeded-random.js';
import type { AdapterProfile } from './adapter.js';
import { adapterKey } from './adapter.js';

/** Bumped when the meaning of variant ids changes, so old winners are not reused. */
// 2: the broadcast strips (b…) got 15–20 % faster on lavapipe, so winners timed against the old ones are stale.
// 3: new candidates (the b16 strip; both linear-parts routes timed from two rows on CPU adapters).
export const TUNING_FORMAT = 3;

/** Contents of one cache file. */
export interface TuningFile {
  format: number;
  andes: string;
  adapter: ReturnType<typeof adapterKey>;
  /** `family|shapeClass` → variant id. */
  winners: Record<string, string>;
}

function env(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[name];
}

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/** Directory of the tuning cache: `ANDES_CACHE_DIR`, else `$XDG_CACHE_HOME/andes`, else `~/.cache/andes`. */
export async function cacheDir(): Promise<string | undefined> {
  if (!isNode()) return undefined;
  const explicit = env('ANDES_CACHE_DIR');
  if (explicit) return explicit;
  const path = await import('node:path');
  const xdg = env('XDG_CACHE_HOME');
  if (xdg) return path.join(xdg, 'andes');
  const os = await import('node:os');
  return path.join(os.homedir(), '.cache', 'andes');
}

/** The cache file for this adapter and Andes version (the name hashes both; the contents repeat them). */
export async function cacheFile(profile: AdapterProfile, andes: string): Promise<string | undefined> {
  const dir = await cacheDir();
  if (!dir) return undefined;
  const path = await import('node:path');
  // The hash only names the file; the contents repeat adapter and version and are checked on load.
  const id = fnv1a32(JSON.stringify([TUNING_FORMAT, andes, adapterKey(profile)]))
    .toString(16)
    .padStart(8, '0');
  return path.join(dir, `tuning-${id}.json`);
}

/**
 * Winners stored for this adapter and version, or an empty record when the file is missing, unreadable, or belongs
 * to another adapter / version / format (hash collisions and stale files then cost a re-tune, never a wrong kernel).
 */
export async function loadWinners(profile: AdapterProfile, andes: string): Promise<Record<string, string>> {
  const file = await cacheFile(profile, andes);
  if (!file) return {};
  const fs = await import('node:fs/promises');
  let parsed: TuningFile;
  try {
    parsed = JSON.parse(await fs.readFile(file, 'utf8')) as TuningFile;
  } catch {
    return {};
  }
  const key = adapterKey(profile);
  const same =
    parsed?.format === TUNING_FORMAT &&
    parsed.andes === andes &&
    JSON.stringify(parsed.adapter) === JSON.stringify(key) &&
    typeof parsed.winners === 'object' &&
    parsed.winners !== null;
  if (!same) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.winners)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Writes the winners atomically (temp file in the same directory, fsync, rename). Returns the path written. */
export async function saveWinners(
  profile: AdapterProfile,
  andes: string,
  winners: Record<string, string>,
): Promise<string | undefined> {
  const file = await cacheFile(profile, andes);
  if (!file) return undefined;
  // The repository's one atomic writer (temp file, fsync, rename, directory fsync); loaded lazily, Node only.
  const { writeFileAtomic } = await import('../../node/atomic-write.js');
  const body: TuningFile = { format: TUNING_FORMAT, andes, adapter: adapterKey(profile), winners };
  await writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/**
 * The `@andes/tensor` version (part of the cache key): read from the package's package.json in Node (found from
 * `src/` or `dist/`, and from the benchmark build under bench/out/src).
 */
export async function andesVersion(): Promise<string> {
  if (!isNode()) return 'browser';
  const fs = await import('node:fs/promises');
  for (const rel of ['../../../package.json', '../../../../../package.json']) {
    try {
      const pkg = JSON.parse(await fs.readFile(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === '@andes/tensor' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not at this depth; try the next.
    }
  }
  return 'unknown';
}
