import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { type CorpusFormat, corpusFormatOf } from './corpus-format.js';
import { decompressedLines } from './decompressed-lines.js';
import { fieldOf } from './field-of.js';
import { parquetFileBuffer } from './parquet-file-buffer.js';

export { fieldOf };

/** One document of a corpus with the record it came from (JSONL object, Parquet row) for filters that need metadata. */
export interface CorpusRecord {
  /** The document text (the record's text field). */
  text: string;
  /** The whole record, e.g. `{ text, meta: { license } }` or a Parquet row; `{}` for plain text. */
  meta: Record<string, unknown>;
}

/** A forward-only reader of the records of one file, addressed by record index. */
export interface RecordReader {
  /** The next record, or null at the end of the file. */
  next(): Promise<CorpusRecord | null>;
  /** Records consumed so far (skipped ones included): reopening with `skip: index` continues here. */
  readonly index: number;
  /** Releases the file. */
  close(): Promise<void>;
}

/** Options of {@link openRecordReader}. */
export interface RecordReaderOptions {
  /** Field (JSONL, dotted path) or column (Parquet) holding the text; default `text`. */
  field?: string;
  /** Records to skip first (a resumed position). */
  skip?: number;
  /** Name used in errors (e.g. the source name). */
  source?: string;
}

function recordText(record: unknown, field: string, where: string): CorpusRecord {
  const text = fieldOf(record, field);
  if (typeof text !== 'string') throw new Error(`${where}: field "${field}" is not a string`);
  return { text, meta: typeof record === 'object' && record !== null ? (record as Record<string, unknown>) : {} };
}

class JsonlRecordReader implements RecordReader {
  index = 0;
  private readonly lines: AsyncGenerator<string>;
  private line = 0;

  constructor(
    private readonly path: string,
    format: CorpusFormat,
    private readonly options: RecordReaderOptions,
  ) {
    this.lines = decompressedLines(path, format === 'jsonl.gz' ? 'gzip' : format === 'jsonl.zst' ? 'zstd' : 'none');
  }

  async next(): Promise<CorpusRecord | null> {
    try {
      return await this.read();
    } catch (err) {
      // A bad record ends the reader: release the file now, not at garbage collection.
      await this.close();
      throw err;
    }
  }

  private async read(): Promise<CorpusRecord | null> {
    for (;;) {
      const { value, done } = await this.lines.next();
      if (done) return null;
      this.line++;
      if (value.trim() === '') continue;
      const where = `${this.options.source ? `source ${this.options.source}: ` : ''}${this.path}:${this.line}`;
      if (this.index++ < (this.options.skip ?? 0)) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch (err) {
        throw new Error(`${where}: invalid JSON: ${(err as Error).message}`);
      }
      return recordText(parsed, this.options.field ?? 'text', where);
    }
  }

  async close(): Promise<void> {
    await this.lines.return(undefined);
  }
}

/** Parquet rows read one row group at a time, so memory holds one group's columns, not the file. */
class ParquetRecordReader implements RecordReader {
  index: number;
  private rows: Record<string, unknown>[] = [];
  private rowsStart = 0;
  private group = 0;
  private groupStart = 0;

  constructor(
    private readonly path: string,
    private readonly file: AsyncBuffer,
    private readonly metadata: FileMetaData,
    private readonly options: RecordReaderOptions,
  ) {
    this.index = options.skip ?? 0;
  }

  async next(): Promise<CorpusRecord | null> {
    while (this.index >= this.rowsStart + this.rows.length) {
      if (!(await this.loadGroupContaining(this.index))) return null;
    }
    const row = this.rows[this.index - this.rowsStart]!;
    const where = `${this.options.source ? `source ${this.options.source}: ` : ''}${this.path} row ${this.index}`;
    this.index++;
    return recordText(row, this.options.field ?? 'text', where);
  }

  private async loadGroupContaining(row: number): Promise<boolean> {
    const groups = this.metadata.row_groups;
    while (this.group < groups.length) {
      const start = this.groupStart;
      const end = start + Number(groups[this.group]!.num_rows);
      this.group++;
      this.groupStart = end;
      if (row >= end) continue;
      this.rows = (await parquetReadObjects({
        file: this.file,
        metadata: this.metadata,
        rowStart: start,
        rowEnd: end,
        compressors,
      })) as Record<string, unknown>[];
      this.rowsStart = start;
      return true;
    }
    this.rows = [];
    return false;
  }

  async close(): Promise<void> {
    this.rows = [];
  }
}

async function openParquet(path: string, options: RecordReaderOptions): Promise<RecordReader> {
  const file = await parquetFileBuffer(path);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new Error(`${path}: not a valid Parquet file: ${(err as Error).message}`);
  }
  const column = (options.field ?? 'text').split('.')[0]!;
  const columns = metadata.schema.slice(1).map((s) => s.name);
  if (!columns.includes(column)) {
    throw new Error(`${path}: no column "${column}" (columns: ${columns.join(', ')})`);
  }
  return new ParquetRecordReader(path, file, metadata, options);
}

/**
 * Opens a record reader for a JSONL (`.jsonl`, `.jsonl.gz`, `.json.gz`, `.jsonl.zst`) or Parquet file, by extension.
 * Compressed files are decompressed as they stream (gzip: Node's zlib; zstd: fzstd); Parquet is read one row group
 * at a time (hyparquet, with hyparquet-compressors for zstd/gzip/brotli pages). Memory stays bounded by a chunk or a
 * row group whatever the file size.
 */
export async function openRecordReader(path: string, options: RecordReaderOptions = {}): Promise<RecordReader> {
  const format = corpusFormatOf(path);
  if (format === 'parquet') return openParquet(path, options);
  if (format === 'text' || format === 'shard') {
    throw new Error(`${path}: not a JSONL or Parquet file (by its extension)`);
  }
  return new JsonlRecordReader(path, format, options);
}
