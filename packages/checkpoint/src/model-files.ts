/**
 * Where a model directory's files come from, so one loader serves a folder on disk (Node), files a person picked or
 * dropped in a browser, and a zip's entries.
 *
 * @module
 */

import type { HostTensor } from './dtypes.js';

/** Read access to the files of one model directory, by file name (`config.json`, `model.safetensors`, …). */
export interface ModelFileReader {
  /** The directory's name, for error messages. */
  readonly name: string;
  /** How error messages name a file of the directory (a path on disk, or `name/file`). */
  path(file: string): string;
  /** Whether the directory has the file. */
  has(file: string): Promise<boolean>;
  /** The file's bytes, or undefined when the directory has no such file. */
  read(file: string): Promise<Uint8Array | undefined>;
  /**
   * Optional: the tensors of a safetensors file one at a time (name and stored tensor), for readers that can read
   * parts of a file (Node, on disk), so a load never holds a whole shard's bytes beside the float32 model. Without
   * it the file is read whole and decoded.
   */
  tensors?(file: string): AsyncIterable<[string, HostTensor]>;
}

/** A file a browser hands over (`File` and `Blob` have this method). */
export interface BlobLike {
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * A {@link ModelFileReader} over files in memory or picked in a browser, by file name. Names may carry a folder
 * prefix (`model/config.json`, as a directory picker's `webkitRelativePath` gives them): only the last part counts.
 *
 * @example
 * const files = modelFilesFromMap('model', new Map([...input.files].map((f) => [f.name, f])));
 * const loaded = await loadModelFiles(files);
 */
export function modelFilesFromMap(name: string, entries: ReadonlyMap<string, Uint8Array | BlobLike>): ModelFileReader {
  const byName = new Map<string, Uint8Array | BlobLike>();
  for (const [key, value] of entries) byName.set(key.slice(key.lastIndexOf('/') + 1), value);
  return {
    name,
    path: (file) => `${name}/${file}`,
    has: async (file) => byName.has(file),
    async read(file) {
      const value = byName.get(file);
      if (value === undefined) return undefined;
      return value instanceof Uint8Array ? value : new Uint8Array(await value.arrayBuffer());
    },
  };
}
