// A model directory on disk as a ModelFileReader. Node only: loaded on demand by loadModelDir, never by the main
// entry, so bundles for browsers do not pull in node:fs.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostTensor } from './dtypes.js';
import type { ModelFileReader } from './model-files.js';
import { readSafetensors, readSafetensorsHeader } from './safetensors.js';

/** The files of the directory `dir` on disk. */
export function directoryFiles(dir: string): ModelFileReader {
  const exists = async (file: string) => (await stat(join(dir, file)).catch(() => null)) !== null;
  return {
    name: dir,
    path: (file) => join(dir, file),
    has: exists,
    async read(file) {
      if (!(await exists(file))) return undefined;
      return new Uint8Array(await readFile(join(dir, file)));
    },
    // One tensor at a time: its stored bytes and its float32 values, never a whole F16/BF16 file beside the model.
    async *tensors(file): AsyncIterable<[string, HostTensor]> {
      const path = join(dir, file);
      for (const { name } of (await readSafetensorsHeader(path)).entries) {
        yield [name, (await readSafetensors(path, { names: [name] })).tensors.get(name)!];
      }
    },
  };
}
