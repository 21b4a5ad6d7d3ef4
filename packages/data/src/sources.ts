import { corpusFormatOf, isRecordIndexed } from './corpus-format.js';
import type { DocumentSource, SourceState } from './document-source.js';
import { fieldOf } from './field-of.js';
import type { LineReader } from './line-reader.js';
import type { DocumentSplit, SourceConfig } from './mixture-config.js';
import type { CorpusRecord, RecordReader } from './record-reader.js';
import { syntheticStory } from './synthetic-stories.js';

/**
 * Node's file system and the readers built on it, loaded when a file source is first opened: synthetic sources and
 * the rest of the main entry then run in browsers without `node:` modules.
 */
async function nodeIo() {
  const [fs, path, glob, lines, records, shards] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
    import('./glob.js'),
    import('./line-reader.js'),
    import('./record-reader.js'),
    import('./shard-source.js'),
  ]);
  return {
    readFile: fs.readFile,
    stat: fs.stat,
    resolve: path.resolve,
    ...glob,
    LineReader: lines.LineReader,
    openRecordReader: records.openRecordReader,
    ShardSource: shards.ShardSource,
  };
}

// The source interface lives in document-source.ts, below both this file and shard-source.ts (which this file opens);
// re-exported so users of sources keep one import.
export type { DocumentSource, SourceDocument, SourceState } from './document-source.js';

/** The unbounded synthetic story corpus as a source. */
export class SyntheticSource implements DocumentSource {
  private index = 0;

  /** @param name source name; @param seed corpus seed. */
  constructor(
    readonly name: string,
    readonly seed: number,
  ) {}

  async next(): Promise<string> {
    return syntheticStory(this.seed, this.index++);
  }

  state(): SourceState {
    return { epoch: 0, file: 0, offset: this.index };
  }

  async restore(state: SourceState): Promise<void> {
    this.index = state.offset;
  }

  async close(): Promise<void> {}
}

/** Options of a {@link FileSource}. */
export interface FileSourceOptions {
  /** Source name, for errors. */
  name: string;
  /** Files in reading order. */
  files: string[];
  /**
   * `jsonl`: one JSON object per line (`.gz`/`.zst` files are decompressed as they stream); `parquet`: one row per
   * document; otherwise how plain text is cut into documents.
   */
  format: 'jsonl' | 'parquet' | DocumentSplit;
  /** JSONL field (dotted path) or Parquet column holding the text. */
  field?: string;
  /** Pass limit (may be fractional); unlimited when undefined. */
  epochs?: number;
}

/**
 * Documents from one or more files, read lazily through a {@link LineReader} (or a {@link RecordReader} for
 * compressed JSONL and Parquet) so files larger than memory stream (except in `file` mode, where each file is one
 * document and is read whole). Compressed and Parquet files cannot be entered at a byte offset: their position is a
 * record index, a resume re-reads the file up to it, and a fractional last pass is measured in whole such files.
 */
export class FileSource implements DocumentSource {
  readonly name: string;
  private readonly cumulativeBytes: number[];
  private reader: LineReader | null = null;
  private records: RecordReader | null = null;
  private lastMeta: Record<string, unknown> = {};
  private pos: SourceState = { epoch: 0, file: 0, offset: 0 };
  private documentsThisPass = 0;

  private constructor(
    private readonly options: FileSourceOptions,
    sizes: number[],
  ) {
    this.name = options.name;
    this.cumulativeBytes = [0];
    for (const s of sizes) this.cumulativeBytes.push(this.cumulativeBytes.at(-1)! + s);
  }

  /** Opens a source over `options.files` (sizes are read once, for fractional epochs). */
  static async open(options: FileSourceOptions): Promise<FileSource> {
    if (options.files.length === 0) throw new Error(`source ${options.name}: no files`);
    const { stat } = await nodeIo();
    const sizes = await Promise.all(options.files.map(async (f) => (await stat(f)).size));
    return new FileSource(options, sizes);
  }

  state(): SourceState {
    return { ...this.pos };
  }

  async restore(state: SourceState): Promise<void> {
    if (state.file < 0 || state.file >= this.options.files.length) {
      throw new Error(
        `source ${this.name}: state file index ${state.file} is outside ${this.options.files.length} files`,
      );
    }
    await this.closeReaders();
    this.pos = { ...state };
    // A restored position inside a pass is known to have documents before it.
    this.documentsThisPass = state.file > 0 || state.offset > 0 ? 1 : 0;
  }

  async next(): Promise<string | null> {
    return (await this.nextRecord())?.text ?? null;
  }

  /** The next document with the record it came from (for filters that read metadata, e.g. a license field). */
  async nextRecord(): Promise<CorpusRecord | null> {
    for (;;) {
      if (this.exhausted()) return null;
      const doc = await this.readFromCurrentFile();
      if (doc !== null) {
        this.documentsThisPass++;
        return { text: doc, meta: this.lastMeta };
      }
      await this.closeReaders();
      if (this.pos.file + 1 < this.options.files.length) {
        this.pos = { epoch: this.pos.epoch, file: this.pos.file + 1, offset: 0 };
        continue;
      }
      if (this.documentsThisPass === 0) {
        throw new Error(`source ${this.name}: no documents in ${this.options.files.join(', ')}`);
      }
      this.pos = { epoch: this.pos.epoch + 1, file: 0, offset: 0 };
      this.documentsThisPass = 0;
    }
  }

  /** True once the pass limit is reached; a fractional last pass ends after that fraction of the bytes. */
  private exhausted(): boolean {
    const { epochs } = this.options;
    if (epochs === undefined) return false;
    if (this.pos.epoch >= Math.ceil(epochs)) return true;
    if (this.pos.epoch < Math.floor(epochs)) return false;
    const total = this.cumulativeBytes.at(-1)!;
    const inFile = isRecordIndexed(corpusFormatOf(this.options.files[this.pos.file]!)) ? 0 : this.pos.offset;
    const done = this.cumulativeBytes[this.pos.file]! + inFile;
    return done >= (epochs - Math.floor(epochs)) * total;
  }

  private async readFromCurrentFile(): Promise<string | null> {
    const path = this.options.files[this.pos.file]!;
    const { format } = this.options;
    this.lastMeta = {};
    if ((format === 'jsonl' || format === 'parquet') && isRecordIndexed(corpusFormatOf(path))) {
      this.records ??= await (await nodeIo()).openRecordReader(path, {
        field: this.options.field,
        skip: this.pos.offset,
        source: this.name,
      });
      const record = await this.records.next();
      this.pos.offset = this.records.index;
      if (record === null) return null;
      this.lastMeta = record.meta;
      return record.text;
    }
    if (format === 'parquet') throw new Error(`source ${this.name}: ${path} is not a .parquet file`);
    if (format === 'file') {
      if (this.pos.offset > 0) return null;
      const bytes = await (await nodeIo()).readFile(path);
      this.pos.offset = Math.max(bytes.length, 1);
      const text = bytes.toString('utf8');
      return text.trim() === '' ? null : text;
    }
    this.reader ??= await (await nodeIo()).LineReader.open(path, this.pos.offset);
    const reader = this.reader;
    if (format === 'paragraph') {
      const lines: string[] = [];
      for (;;) {
        const before = reader.offset;
        const line = await reader.readLine();
        if (line === null || line.text.trim() === '') {
          if (lines.length > 0 || line === null) {
            this.pos.offset = line === null ? before : line.end;
            return lines.length > 0 ? lines.join('\n') : null;
          }
          continue;
        }
        lines.push(line.text);
      }
    }
    for (;;) {
      const line = await reader.readLine();
      if (line === null) {
        this.pos.offset = reader.offset;
        return null;
      }
      this.pos.offset = line.end;
      if (line.text.trim() === '') continue;
      if (format === 'line') return line.text;
      return this.jsonlText(line.text, path, line.start);
    }
  }

  private jsonlText(text: string, path: string, offset: number): string {
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (e) {
      throw new Error(`source ${this.name}: invalid JSON in ${path} at byte ${offset}: ${(e as Error).message}`);
    }
    const field = this.options.field ?? 'text';
    const value = fieldOf(record, field);
    if (typeof record === 'object' && record !== null) this.lastMeta = record as Record<string, unknown>;
    if (typeof value !== 'string') {
      throw new Error(`source ${this.name}: field "${field}" is not a string in ${path} at byte ${offset}`);
    }
    return value;
  }

  async close(): Promise<void> {
    await this.closeReaders();
  }

  private async closeReaders(): Promise<void> {
    await this.reader?.close();
    await this.records?.close();
    this.reader = null;
    this.records = null;
  }
}

/** Resolves a source path (file, directory or glob, relative to `baseDir`) to a sorted list of files. */
export async function resolveSourceFiles(name: string, path: string, baseDir: string): Promise<string[]> {
  const { expandGlob, isGlobPattern, listFilesRecursive, resolve, stat } = await nodeIo();
  let files: string[];
  if (isGlobPattern(path)) {
    files = await expandGlob(path, baseDir);
  } else {
    const full = resolve(baseDir, path);
    const info = await stat(full).catch(() => null);
    if (info === null) throw new Error(`source ${name}: ${full} does not exist`);
    files = info.isDirectory()
      ? (await listFilesRecursive(full)).filter(
          (f) =>
            !f
              .slice(full.length)
              .split(/[\\/]/)
              .some((s) => s.startsWith('.')),
        )
      : [full];
  }
  if (files.length === 0) throw new Error(`source ${name}: no files match ${JSON.stringify(path)} (from ${baseDir})`);
  return files;
}

/** Opens the source described by one (validated) mixture entry. */
export async function openSource(config: SourceConfig, baseDir: string): Promise<DocumentSource> {
  if (config.type === 'synthetic') return new SyntheticSource(config.name, config.seed ?? 0);
  const files = await resolveSourceFiles(config.name, config.path!, baseDir);
  if (config.type === 'shards') {
    const shards = files.filter((f) => corpusFormatOf(f) === 'shard');
    if (shards.length === 0) throw new Error(`source ${config.name}: no .tok shard files in ${config.path}`);
    return (await nodeIo()).ShardSource.open({ name: config.name, files: shards, epochs: config.epochs });
  }
  const format =
    config.type === 'jsonl' || config.type === 'parquet'
      ? config.type
      : (config.documents ?? (config.type === 'glob' ? 'file' : 'paragraph'));
  return FileSource.open({ name: config.name, files, format, field: config.field, epochs: config.epochs });
}
