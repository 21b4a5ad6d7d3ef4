/**
 * The pre-tokenized shard layout (`.tok`), version 1 — written down in packages/data/SHARDS.md so numpy and
 * PyTorch loaders can read it without this package. All integers are little-endian.
 *
 * | offset | size | field                                                             |
 * |-------:|-----:|-------------------------------------------------------------------|
 * | 0      | 8    | magic, ASCII `ANDESTOK`                                           |
 * | 8      | 4    | u32 version = 1                                                   |
 * | 12     | 4    | u32 dtype code: 2 = uint16, 4 = uint32 (= bytes per token)        |
 * | 16     | 8    | u64 token count T                                                 |
 * | 24     | 8    | u64 document count D                                              |
 * | 32     | 8    | u64 byte offset of the tokens (= 256)                             |
 * | 40     | 8    | u64 byte offset of the document index (= 256 + T · bytes/token)   |
 * | 48     | 4    | u32 vocabulary size of the tokenizer                              |
 * | 52     | 204  | zero                                                              |
 * | 256    | T·b  | tokens, the documents back to back (no BOS/EOS: the loader adds them) |
 * | index  | 8·(D+1) | u64 token offset of each document's start, then T              |
 */

/** The 8 magic bytes at the start of every shard. */
export const SHARD_MAGIC = 'ANDESTOK';
/** The layout version this package writes and reads. */
export const SHARD_VERSION = 1;
/** Bytes before the tokens. */
export const SHARD_HEADER_BYTES = 256;

/** Token storage of a shard: uint16 for vocabularies of at most 65,536 tokens, else uint32. */
export type ShardDtype = 'uint16' | 'uint32';

/** The parsed header of a shard. */
export interface ShardHeader {
  /** Layout version (1). */
  version: number;
  /** Token storage. */
  dtype: ShardDtype;
  /** Tokens in the shard. */
  tokenCount: number;
  /** Documents in the shard. */
  documentCount: number;
  /** Byte offset of the first token. */
  tokensOffset: number;
  /** Byte offset of the document index (`documentCount + 1` u64 token offsets). */
  indexOffset: number;
  /** Vocabulary size of the tokenizer the shard was written with. */
  vocabSize: number;
}

/** The dtype a vocabulary needs: uint16 when every id fits (≤ 65,536 tokens), else uint32. */
export function shardDtypeFor(vocabSize: number): ShardDtype {
  return vocabSize <= 65_536 ? 'uint16' : 'uint32';
}

/** Bytes per token of a dtype. */
export function dtypeBytes(dtype: ShardDtype): number {
  return dtype === 'uint16' ? 2 : 4;
}

/** The 256-byte header of a shard. */
export function encodeShardHeader(header: Omit<ShardHeader, 'version' | 'tokensOffset' | 'indexOffset'>): Uint8Array {
  const bytes = new Uint8Array(SHARD_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(SHARD_MAGIC), 0);
  view.setUint32(8, SHARD_VERSION, true);
  view.setUint32(12, dtypeBytes(header.dtype), true);
  view.setBigUint64(16, BigInt(header.tokenCount), true);
  view.setBigUint64(24, BigInt(header.documentCount), true);
  view.setBigUint64(32, BigInt(SHARD_HEADER_BYTES), true);
  view.setBigUint64(40, BigInt(SHARD_HEADER_BYTES + header.tokenCount * dtypeBytes(header.dtype)), true);
  view.setUint32(48, header.vocabSize, true);
  return bytes;
}

/**
 * Parses and checks a shard header against the file size; errors name the file and the field.
 *
 * @param bytes at least the first 256 bytes of the file.
 * @param fileSize the file's size in bytes.
 * @param path the file, for errors.
 */
export function decodeShardHeader(bytes: Uint8Array, fileSize: number, path: string): ShardHeader {
  if (bytes.length < SHARD_HEADER_BYTES || fileSize < SHARD_HEADER_BYTES) {
    throw new Error(
      `${path}: not a token shard (${fileSize} bytes, shorter than the ${SHARD_HEADER_BYTES}-byte header)`,
    );
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== SHARD_MAGIC)
    throw new Error(`${path}: not a token shard (magic ${JSON.stringify(magic)}, expected ANDESTOK)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, SHARD_HEADER_BYTES);
  const version = view.getUint32(8, true);
  if (version !== SHARD_VERSION) throw new Error(`${path}: shard version ${version} is not supported (expected 1)`);
  const code = view.getUint32(12, true);
  if (code !== 2 && code !== 4) throw new Error(`${path}: shard dtype code ${code} is not 2 (uint16) or 4 (uint32)`);
  const dtype: ShardDtype = code === 2 ? 'uint16' : 'uint32';
  const big = (at: number, field: string): number => {
    const v = view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${path}: shard ${field} ${v} is too large`);
    return Number(v);
  };
  const header: ShardHeader = {
    version,
    dtype,
    tokenCount: big(16, 'token count'),
    documentCount: big(24, 'document count'),
    tokensOffset: big(32, 'tokens offset'),
    indexOffset: big(40, 'index offset'),
    vocabSize: view.getUint32(48, true),
  };
  const expectedIndex = header.tokensOffset + header.tokenCount * code;
  if (header.tokensOffset < SHARD_HEADER_BYTES || header.indexOffset !== expectedIndex) {
    throw new Error(
      `${path}: shard offsets are inconsistent (tokens at ${header.tokensOffset}, index at ${header.indexOffset}, ` +
        `expected ${expectedIndex} for ${header.tokenCount} ${dtype} tokens)`,
    );
  }
  const expectedSize = header.indexOffset + 8 * (header.documentCount + 1);
  if (fileSize !== expectedSize) {
    throw new Error(
      `${path}: shard is ${fileSize} bytes but its header describes ${expectedSize} ` +
        `(${header.tokenCount} tokens, ${header.documentCount} documents): truncated or corrupt`,
    );
  }
  return header;
}
