/**
 * `@andes/checkpoint/node`: the Node-only half of the package — atomic training checkpoints (keep last N and best,
 * checksummed manifests) and the atomic file writers. Kept out of the main entry, which stays browser-safe.
 *
 * @module
 */

// The atomic writers live in `@andes/tensor/node` (their one home); re-exported here for callers of this package.
export {
  fsyncDirectory,
  type WriteChunk,
  writeDirectoryAtomic,
  writeFileAtomic,
  writeFileAtomicWith,
} from '@andes/tensor/node';
export { type Manifest, manifestFile, readVerifiedFiles, sha256Hex, writeManifest } from './manifest.js';
export {
  applyRetention,
  type CheckpointInfo,
  checkpointDirName,
  type JsonValue,
  type LoadedTrainingCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  loadLatestTrainingCheckpoint,
  loadTrainingCheckpoint,
  type RetentionOptions,
  saveTrainingCheckpoint,
  type TrainingCheckpoint,
} from './training-checkpoint.js';
