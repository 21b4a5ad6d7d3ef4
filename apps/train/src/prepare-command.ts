/**
 * `andes-train prepare`: clean and tokenize a mixture into pre-tokenized shards (or merge slices' manifests).
 * Argument parsing, progress and error wording only; the work is @andes/data's `prepareShards`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseMixtureConfig } from '@andes/data';
import { mergeShardManifests, type PrepareProgress, prepareShards, type ShardManifest } from '@andes/data/node';
import { ConfigError } from './config.js';

/** Options of `prepare`, as strings from the command line. */
export interface PrepareCommandOptions {
  /** Mixture JSON file. */
  mixture?: string;
  /** Tokenizer file. */
  tokenizer?: string;
  /** Output directory. */
  out?: string;
  /** `i/N`: prepare only this slice of the input files. */
  shard?: string;
  /** Join the slices' manifests in `out` instead of preparing. */
  merge?: boolean;
  /** Tokenizer worker threads. */
  workers?: string;
  /** Tokens per shard file. */
  shardTokens?: string;
}

/** Parses `--shard i/N` (0 ≤ i < N). */
export function parseSlice(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index >= count) {
    throw new ConfigError(`flag --shard: expected i/N with 0 ≤ i < N (e.g. 3/16), got ${JSON.stringify(value)}`);
  }
  return { index, count };
}

function positiveInteger(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new ConfigError(`flag ${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** One progress line: documents, raw MB and MB/s, tokens and tokens/s. */
export function formatPrepareProgress(p: PrepareProgress): string {
  const s = Math.max(p.seconds, 1e-9);
  return (
    `${p.source}: ${p.documents} docs, ${(p.rawBytes / 1e6).toFixed(1)} MB raw (${(p.rawBytes / 1e6 / s).toFixed(2)} MB/s), ` +
    `${p.tokens} tokens (${Math.round(p.tokens / s)} tokens/s), ${s.toFixed(1)} s`
  );
}

/** A per-source summary of a manifest. */
export function formatManifestSummary(manifest: ShardManifest): string {
  const lines = manifest.sources.map((s) => {
    const removed = s.input.documents === 0 ? 0 : (100 * s.removed.documents) / s.input.documents;
    const reports = s.filterReports
      .map((r) => `${r.filter} −${r.documentsRemoved} docs/−${r.bytesRemoved} B`)
      .join(', ');
    return (
      `  ${s.name}: ${s.kept.documents}/${s.input.documents} docs kept (${removed.toFixed(1)}% removed), ` +
      `${s.kept.tokens} tokens in ${s.shards.length} shard(s)${reports ? ` [${reports}]` : ''}`
    );
  });
  return lines.join('\n');
}

/** Runs `prepare`; prints progress through `log` (stderr by default) and the summary through `print`. */
export async function runPrepareCommand(
  options: PrepareCommandOptions,
  print: (line: string) => void = console.log,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<ShardManifest> {
  if (options.out === undefined) throw new ConfigError('prepare: missing --out <dir>');
  const outDir = resolve(options.out);
  try {
    if (options.merge) {
      const merged = await mergeShardManifests(outDir);
      print(`merged ${merged.sliceCount} slice manifests into ${resolve(outDir, 'manifest.json')}`);
      print(formatManifestSummary(merged));
      return merged;
    }
    if (options.mixture === undefined) throw new ConfigError('prepare: missing --mixture <file>');
    if (options.tokenizer === undefined) throw new ConfigError('prepare: missing --tokenizer <file>');
    const mixturePath = resolve(options.mixture);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(mixturePath, 'utf8'));
    } catch (err) {
      throw new ConfigError(`--mixture ${options.mixture}: ${(err as Error).message}`);
    }
    const mixture = parseMixtureConfig(json, options.mixture);
    const workers = positiveInteger('--workers', options.workers, 0) ?? Math.max(1, availableParallelism() - 1);
    let last = 0;
    const started = performance.now();
    const manifest = await prepareShards({
      mixture,
      baseDir: dirname(mixturePath),
      tokenizerPath: resolve(options.tokenizer),
      outDir,
      workers,
      ...(options.shard === undefined ? {} : { slice: parseSlice(options.shard) }),
      ...(options.shardTokens === undefined
        ? {}
        : { shardTokens: positiveInteger('--shard-tokens', options.shardTokens, 1) }),
      onProgress: (p) => {
        if (p.seconds - last < 2) return;
        last = p.seconds;
        log(formatPrepareProgress(p));
      },
    });
    const tokens = manifest.sources.reduce((s, x) => s + x.kept.tokens, 0);
    const raw = manifest.sources.reduce((s, x) => s + x.input.bytes, 0);
    const seconds = (performance.now() - started) / 1000;
    print(
      `prepared ${tokens} tokens from ${(raw / 1e6).toFixed(1)} MB of text into ${outDir} in ${seconds.toFixed(1)} s ` +
        `(${(raw / 1e6 / seconds).toFixed(2)} MB/s, ${Math.round(tokens / seconds)} tokens/s, ${workers} worker(s))`,
    );
    print(formatManifestSummary(manifest));
    return manifest;
  } catch (err) {
    // Input problems (a missing file, bad JSON, a bad filter) are the user's: no stack trace.
    if (err instanceof ConfigError) throw err;
    throw new ConfigError((err as Error).message);
  }
}
