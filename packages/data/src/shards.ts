/**
 * Pre-tokenized shards: the layout, a writer, a reader and a mixture source. See packages/data/SHARDS.md.
 *
 * @module
 */
export {
  decodeShardHeader,
  dtypeBytes,
  encodeShardHeader,
  SHARD_HEADER_BYTES,
  SHARD_MAGIC,
  SHARD_VERSION,
  type ShardDtype,
  type ShardHeader,
  shardDtypeFor,
} from './shard-format.js';
export { ShardReader } from './shard-reader.js';
export { ShardSource, type ShardSourceOptions } from './shard-source.js';
export { ShardWriter, sha256File, type WrittenShard } from './shard-writer.js';
