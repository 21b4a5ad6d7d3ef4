/**
 * `@andes/data/node`: the Node-only half of the package — the file readers behind file sources (globs, the resumable
 * line reader, gzip/zstd lines, JSONL and Parquet records), pre-tokenized shards and `prepare` (worker
 * threads). Kept out of the main entry, which stays browser-safe.
 *
 * @module
 */

export { decompressedLines, type LineCodec } from './decompressed-lines.js';
export { expandGlob, globToRegExp, isGlobPattern, listFilesRecursive } from './glob.js';
export { type FileLine, LineReader } from './line-reader.js';
export * from './prepare/index.js';
export {
  type CorpusRecord,
  fieldOf,
  openRecordReader,
  type RecordReader,
  type RecordReaderOptions,
} from './record-reader.js';
export * from './shards.js';
