import type { LineReader } from './line-reader.js';
import type { DocumentSplit, SourceConfig } from './mixture-config.js';
import { syntheticStory } from './synthetic-stories.js';

/**
 * Node's file system and the readers built on it, loaded when a file source is first opened: synthetic sources and
 * the rest of the main entry then run in browsers without `node:` modules.
 */
async function nodeIo() {
  const [fs, path, glob, lines] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
    import('./glob.js'),
    import('./line-reader.js'),
  ]);
  return { readFile: fs.readFile, stat: fs.stat, resolve: path.resolve, ...glob, LineReader: lines.LineReader };
}

/**
 * Position of a source, JSON-able. File sources: pass number `epoch`, file index `file`, byte `offset`
 * of the next document. Synthetic: the next story index in `offset`.
 */
export type SourceState = {
  /** Completed passes over the source. */
  epoch: number;
  /** Index of the current file in the source's sorted file list. */
  file: number;
  /** Byte offset of the next document in the current file (synthetic: next story index). */
  offset: number;
};

/** A stream of documents that can report and restore its position. */
export interface DocumentSource {
  /** The source's name from the mixture config. */
  readonly name: string;
  /** The next document, or null once the source's epoch limit is reached. */
  next(): Promise<string | null>;
  /** The current position; `restore(state())` later continues from here. */
  state(): SourceState;
  /** Moves to a position previously returned by {@link DocumentSource.state}. */
  restore(state: SourceState): Promise<void>;
  /** Releases open files. */
  close(): Promise<void>;
}

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
  /** `jsonl`: one JSON object per line; otherwise how plain text is cut into documents. */
  format: 'jsonl' | DocumentSplit;
  /** JSONL field (dotted path) holding the text. */
  field?: string;
  /** Pass limit (may be fractional); unlimited when undefined. */
  epochs?: number;
}

/**
 * Documents from one or more files, read lazily through a {@link LineReader} so files larger than
 * memory stream (except in `file` mode, where each file is one document and is read whole).
 */
export class FileSource implements DocumentSource {
  readonly name: string;
  private readonly cumulativeBytes: number[];
  private reader: LineReader | null = null;
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
    await this.reader?.close();
    this.reader = null;
    this.pos = { ...state };
    // A restored position inside a pass is known to have documents before it.
    this.documentsThisPass = state.file > 0 || state.offset > 0 ? 1 : 0;
  }

  async next(): Promise<string | null> {
    for (;;) {
      if (this.exhausted()) return null;
      const doc = await this.readFromCurrentFile();
      if (doc !== null) {
        this.documentsThisPass++;
        return doc;
      }
      await this.reader?.close();
      this.reader = null;
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
    const done = this.cumulativeBytes[this.pos.file]! + this.pos.offset;
    return done >= (epochs - Math.floor(epochs)) * total;
  }

  private async readFromCurrentFile(): Promise<string | null> {
    const path = this.options.files[this.pos.file]!;
    const { format } = this.options;
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
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new Error(`source ${this.name}: invalid JSON in ${path} at byte ${offset}: ${(e as Error).message}`);
    }
    const field = this.options.field ?? 'text';
    for (const key of field.split('.')) {
      value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    }
    if (typeof value !== 'string') {
      throw new Error(`source ${this.name}: field "${field}" is not a string in ${path} at byte ${offset}`);
    }
    return value;
  }

  async close(): Promise<void> {
    await this.reader?.close();
    this.reader = null;
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
  const format =
    config.type === 'jsonl' ? 'jsonl' : (config.documents ?? (config.type === 'glob' ? 'file' : 'paragraph'));
  return FileSource.open({ name: config.name, files, format, field: config.field, epochs: config.epochs });
}
