// Node-only file I/O, kept apart so the rest of the package runs in browsers. Loaded lazily by
// `loadTokenizer(path)` and `save(path)` through a dynamic import.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Reads a whole file as bytes. */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  const buf = await readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads a whole file as UTF-8 text. */
export async function readFileText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** Writes `data` atomically (folder created if needed): a temp file beside it, fsync, rename over `path`. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  await rename(tmp, path);
}

/** Yields the lines of a UTF-8 text file without loading it whole. */
export async function* readLines(path: string): AsyncGenerator<string> {
  const { createReadStream } = await import('node:fs');
  const { createInterface } = await import('node:readline');
  const lines = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) yield line;
}
