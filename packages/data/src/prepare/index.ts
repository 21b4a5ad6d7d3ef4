/**
 * `prepare`: cleaning, tokenizing on worker threads and writing pre-tokenized shards with a manifest.
 *
 * @module
 */
export { type EncodedBatch, encodeBatch } from './encode-batch.js';
export { type PrepareOptions, type PrepareProgress, prepareShards } from './prepare-shards.js';
export {
  type DocumentCounts,
  type ManifestShard,
  type ManifestSource,
  manifestFileName,
  mergeShardManifests,
  mixtureFromManifest,
  parseShardManifest,
  readShardManifest,
  type ShardManifest,
  writeJsonAtomic,
} from './shard-manifest.js';
export { TokenizePool } from './tokenize-pool.js';
