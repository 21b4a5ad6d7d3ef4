/**
 * `@andes/tensor/node`: Node-only utilities shared by every package and app above the tensor package (atomic file
 * writes). Kept out of the main entry, which stays browser-safe.
 *
 * @module
 */

export {
  fsyncDirectory,
  fsyncDirectorySync,
  type WriteChunk,
  writeDirectoryAtomic,
  writeFileAtomic,
  writeFileAtomicSync,
  writeFileAtomicWith,
} from './atomic-write.js';
