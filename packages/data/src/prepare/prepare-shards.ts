import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { loadTokenizer } from '@andes/tokenizer';
import { FilterPipeline } from '../filters/document-filter.js';
import { createFilter } from '../filters/filter-registry.js';
import { type MixtureConfig, parseMixtureConfig, type SourceConfig } from '../mixture-config.js';
import { shardDtypeFor } from '../shard-format.js';
import { ShardWriter } from '../shard-writer.js';
import { FileSource, resolveSourceFiles } from '../sources.js';
import {
  type ManifestShard,
  type ManifestSource,
  manifestFileName,
  type ShardManifest,
  writeJsonAtomic,
} from './shard-manifest.js';
import { TokenizePool } from './tokenize-pool.js';

/** Progress of {@link prepareShards}, reported after every tokenized batch. */
export interface PrepareProgress {
  /** The source being prepared. */
  source: string;
  /** Documents read so far (all sources). */
  documents: number;
  /** UTF-8 bytes of raw text read so far (before cleaning). */
  rawBytes: number;
  /** Tokens written so far. */
  tokens: number;
  /** Seconds since the start. */
  seconds: number;
}

/** Options of {@link prepareShards}. */
export interface PrepareOptions {
  /** The mixture (validated here); every source must be a file source. */
  mixture: MixtureConfig;
  /** Directory relative source paths are resolved against; default `process.cwd()`. */
  baseDir?: string;
  /** Tokenizer file (`tokenizer.model` or `tokenizer.json`). */
  tokenizerPath: string;
  /** Output directory (created). */
  outDir: string;
  /** Prepare only slice `index` of `count`: file j of each source belongs to slice j mod count. */
  slice?: { index: number; count: number };
  /** Tokenizer worker threads; 0 tokenizes on the main thread. Default 1. */
  workers?: number;
  /** A shard is closed once it holds at least this many tokens; default 2^27 (256 MiB of uint16). */
  shardTokens?: number;
  /** Documents per tokenizer batch; default 256. */
  batchDocuments?: number;
  /** Called after each batch is written. */
  onProgress?: (progress: PrepareProgress) => void;
}

/** A file-system-safe directory name for a source. */
function directoryName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Writes the tokens of one source's kept documents to shards of at most about `shardTokens` tokens. */
class SourceShards {
  readonly shards: ManifestShard[] = [];
  private writer: ShardWriter | null = null;

  constructor(
    private readonly outDir: string,
    private readonly directory: string,
    private readonly prefix: string,
    private readonly vocabSize: number,
    private readonly shardTokens: number,
  ) {}

  async append(ids: Uint32Array): Promise<void> {
    if (this.writer === null) {
      const file = `${this.prefix}-${String(this.shards.length).padStart(5, '0')}.tok`;
      this.writer = await ShardWriter.create(join(this.outDir, this.directory, file), this.vocabSize);
    }
    await this.writer.append(ids);
    if (this.writer.tokenCount >= this.shardTokens) await this.finish();
  }

  async finish(): Promise<void> {
    if (this.writer === null) return;
    const done = await this.writer.finish();
    this.writer = null;
    this.shards.push({ ...done, path: relative(this.outDir, done.path).split(sep).join('/') });
  }

  async abort(): Promise<void> {
    await this.writer?.abort();
  }
}

/**
 * Cleans and tokenizes a mixture into pre-tokenized shards plus a manifest (`manifest.json`, or
 * `manifest-<i>-of-<N>.json` for a slice; join slices with `mergeShardManifests`). Each source is read once (its
 * `epochs` are for training, not here), passed through its `filters`, tokenized on worker threads in batches and
 * written in reading order to `<outDir>/<source>/part[-<i>-of-<N>]-<k>.tok`. Returns the manifest.
 */
export async function prepareShards(options: PrepareOptions): Promise<ShardManifest> {
  const mixture = parseMixtureConfig(options.mixture);
  const baseDir = options.baseDir ?? process.cwd();
  const slice = options.slice ?? { index: 0, count: 1 };
  if (
    !Number.isInteger(slice.count) ||
    slice.count < 1 ||
    !Number.isInteger(slice.index) ||
    slice.index < 0 ||
    slice.index >= slice.count
  ) {
    throw new Error(`prepare: slice ${slice.index}/${slice.count} is not a valid i/N with 0 ≤ i < N`);
  }
  for (const s of mixture.sources) {
    if (s.type === 'synthetic' || s.type === 'shards') {
      throw new Error(`prepare: source ${s.name} is ${s.type}; prepare reads text, JSONL or Parquet files`);
    }
  }
  const tokenizer = await loadTokenizer(options.tokenizerPath);
  const pool = await TokenizePool.create(options.tokenizerPath, options.workers ?? 1, tokenizer);
  const prefix = slice.count === 1 ? 'part' : `part-${slice.index}-of-${slice.count}`;
  const started = performance.now();
  const totals = { documents: 0, rawBytes: 0, tokens: 0 };
  const sources: ManifestSource[] = [];
  try {
    for (const source of mixture.sources) {
      sources.push(
        await prepareSource(source, {
          ...options,
          baseDir,
          slice,
          prefix,
          pool,
          vocabSize: tokenizer.vocabSize,
          totals,
          started,
        }),
      );
    }
  } finally {
    await pool.close();
  }
  const manifest: ShardManifest = {
    format: 'andes-shards',
    version: 1,
    tokenizer: {
      file: basename(options.tokenizerPath),
      sha256: await sha256(options.tokenizerPath),
      vocabSize: tokenizer.vocabSize,
      bosId: tokenizer.bosId,
      eosId: tokenizer.eosId,
    },
    dtype: shardDtypeFor(tokenizer.vocabSize),
    slices: [slice.index],
    sliceCount: slice.count,
    sources,
  };
  await writeJsonAtomic(join(options.outDir, manifestFileName(slice.index, slice.count)), manifest);
  return manifest;
}

interface SourceContext extends PrepareOptions {
  baseDir: string;
  slice: { index: number; count: number };
  prefix: string;
  pool: TokenizePool;
  vocabSize: number;
  totals: { documents: number; rawBytes: number; tokens: number };
  started: number;
}

async function prepareSource(source: SourceConfig, ctx: SourceContext): Promise<ManifestSource> {
  const specs = source.filters ?? [];
  const pipeline = new FilterPipeline(
    specs.map((spec, i) => createFilter(spec, `source ${source.name} filters[${i}]`, ctx.baseDir)),
  );
  const directory = directoryName(source.name);
  await mkdir(join(ctx.outDir, directory), { recursive: true });
  const files = (await resolveSourceFiles(source.name, source.path!, ctx.baseDir)).filter(
    (_, j) => j % ctx.slice.count === ctx.slice.index,
  );
  const out = new SourceShards(ctx.outDir, directory, ctx.prefix, ctx.vocabSize, ctx.shardTokens ?? 1 << 27);
  const input = { files: files.length, documents: 0, bytes: 0 };
  const kept = { documents: 0, bytes: 0, tokens: 0 };
  const batchSize = ctx.batchDocuments ?? 256;
  // Batches in flight, oldest first: their results are written in this order whatever order workers finish in.
  const inFlight: Promise<{ tokens: Uint32Array; lengths: Uint32Array }>[] = [];
  const maxInFlight = Math.max(2, 2 * ctx.pool.size);
  const writeOldest = async (): Promise<void> => {
    const { tokens, lengths } = await inFlight.shift()!;
    let at = 0;
    for (const n of lengths) {
      await out.append(tokens.subarray(at, at + n));
      at += n;
    }
    kept.tokens += tokens.length;
    ctx.totals.tokens += tokens.length;
    ctx.onProgress?.({ source: source.name, ...ctx.totals, seconds: (performance.now() - ctx.started) / 1000 });
  };
  try {
    if (files.length > 0) {
      const format =
        source.type === 'jsonl' || source.type === 'parquet'
          ? source.type
          : (source.documents ?? (source.type === 'glob' ? 'file' : 'paragraph'));
      const reader = await FileSource.open({ name: source.name, files, format, field: source.field, epochs: 1 });
      let batch: string[] = [];
      try {
        for (let record = await reader.nextRecord(); record !== null; record = await reader.nextRecord()) {
          const bytes = Buffer.byteLength(record.text, 'utf8');
          input.documents++;
          input.bytes += bytes;
          ctx.totals.documents++;
          ctx.totals.rawBytes += bytes;
          const clean = pipeline.apply(record);
          if (clean === null) continue;
          kept.documents++;
          kept.bytes += Buffer.byteLength(clean.text, 'utf8');
          batch.push(clean.text);
          if (batch.length >= batchSize) {
            inFlight.push(ctx.pool.encode(batch));
            batch = [];
            if (inFlight.length >= maxInFlight) await writeOldest();
          }
        }
        if (batch.length > 0) inFlight.push(ctx.pool.encode(batch));
        while (inFlight.length > 0) await writeOldest();
      } finally {
        await reader.close();
      }
    }
    await out.finish();
  } catch (err) {
    await Promise.allSettled(inFlight);
    await out.abort();
    throw err;
  }
  return {
    name: source.name,
    directory,
    weight: source.weight,
    ...(source.epochs === undefined ? {} : { epochs: source.epochs }),
    filters: specs,
    input,
    kept,
    removed: { documents: input.documents - kept.documents, bytes: input.bytes - kept.bytes },
    filterReports: pipeline.reports(),
    shards: out.shards,
  };
}
