// A loader's saved position: its type and the check of one read back from JSON. The loader imports this file, so the
// type lives here rather than in loader.ts (a type-only import back would close an import cycle).
import type { Split } from './document-stream.js';
import type { PackerPosition } from './packing.js';

/**
 * A loader's position, small and JSON-able (a type alias, so it is assignable to JSON value types): save it with a checkpoint and pass it as
 * `resumeFrom` to continue with exactly the batches that would have come next.
 */
export type LoaderState = {
  /** Format version of this object. */
  version: 1;
  /** Settings the position is only valid for (checked on resume). */
  seed: number;
  /** See the loader option `seqLen`. */
  seqLen: number;
  /** See the loader option `batchSize`. */
  batchSize: number;
  /** See the loader option `shuffleWindow`. */
  shuffleWindow: number;
  /** See the loader option `split`. */
  split: Split;
  /** Index of the current shuffle window (0 = first). */
  window: number;
  /** Packer position at the start of the current shuffle window. */
  windowStart: PackerPosition;
  /** Sequences of the current window already put into batches. */
  taken: number;
  /** Batches yielded so far (for logs). */
  batches: number;
};

function fail(path: string, what: string, value: unknown): never {
  throw new Error(`loader state: ${path} must be ${what}, got ${JSON.stringify(value)}`);
}

function count(x: unknown, path: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) fail(path, 'a non-negative integer', x);
  return x;
}

function record(x: unknown, path: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(path, 'an object', x);
  return x as Record<string, unknown>;
}

/**
 * Checks that a value read back from JSON (e.g. a checkpoint's `dataLoader`) is a well-formed
 * {@link LoaderState} and returns it typed. Errors name the offending field. `createLoader` calls this
 * on `resumeFrom`, then checks that the settings match its own.
 */
export function parseLoaderState(json: unknown): LoaderState {
  const s = record(json, 'state');
  if (s.version !== 1) fail('version', '1', s.version);
  for (const key of ['seed', 'seqLen', 'batchSize', 'shuffleWindow', 'window', 'taken', 'batches']) count(s[key], key);
  if (s.split !== 'train' && s.split !== 'validation') fail('split', '"train" or "validation"', s.split);
  const start = record(s.windowStart, 'windowStart');
  count(start.tokenOffset, 'windowStart.tokenOffset');
  const doc = record(start.document, 'windowStart.document');
  count(doc.rng, 'windowStart.document.rng');
  if (!Array.isArray(doc.sources)) fail('windowStart.document.sources', 'an array', doc.sources);
  doc.sources.forEach((src, i) => {
    const at = `windowStart.document.sources[${i}]`;
    const r = record(src, at);
    for (const key of ['epoch', 'file', 'offset']) count(r[key], `${at}.${key}`);
  });
  if (!Array.isArray(doc.exhausted) || !doc.exhausted.every((x) => typeof x === 'boolean')) {
    fail('windowStart.document.exhausted', 'an array of booleans', doc.exhausted);
  }
  return json as LoaderState;
}
