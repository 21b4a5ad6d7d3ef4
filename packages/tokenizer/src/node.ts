// Node-only file reading, kept apart so the rest of the package runs in browsers. Loaded lazily by
// `loadTokenizer(path)` and `trainBpe(..., { inputIsFilePaths: true })` through a dynamic import. (Writing takes the
// caller's writer: see `SentencePieceTokenizer.save`.)
import { readFile } from 'node:fs/promises';

/** Reads a whole file as bytes. */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  const buf = await readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads a whole file as UTF-8 text. */
export async function readFileText(path: string): Promise<string> {
  return readFile(path, 'utf8');
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
