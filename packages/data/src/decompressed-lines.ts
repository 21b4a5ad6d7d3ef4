import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';

/** Compression of a line-oriented file. */
export type LineCodec = 'none' | 'gzip' | 'zstd';

const readBytes = 1 << 20;

/** Raw chunks of a zstd file (one or more frames), decompressed as they are read by fzstd's streaming decoder. */
async function* zstdChunks(path: string): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const out: Uint8Array[] = [];
    const decoder = new Decompress((chunk) => {
      out.push(chunk);
    });
    const buffer = new Uint8Array(readBytes);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, readBytes, null);
      try {
        // fzstd may keep a reference to the pushed chunk until the frame ends: give it a copy.
        decoder.push(buffer.slice(0, bytesRead), bytesRead === 0);
      } catch (err) {
        throw new Error(`${path}: not a valid zstd stream: ${(err as Error).message}`);
      }
      yield* out.splice(0);
      if (bytesRead === 0) return;
    }
  } finally {
    await handle.close();
  }
}

/** Raw chunks of a file, gunzipped when `codec` is gzip (concatenated gzip members are read as one stream). */
async function* chunksOf(path: string, codec: LineCodec): AsyncGenerator<Uint8Array> {
  if (codec === 'zstd') {
    yield* zstdChunks(path);
    return;
  }
  const file = createReadStream(path, { highWaterMark: 1 << 16 });
  const stream = codec === 'gzip' ? file.pipe(createGunzip()) : file;
  // pipe() does not forward the file's errors (a vanished file) to the gunzip stream being iterated.
  if (stream !== file) file.on('error', (err) => stream.destroy(err));
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (err) {
    throw new Error(`${path}: cannot read ${codec === 'gzip' ? 'gzip data' : 'file'}: ${(err as Error).message}`);
  } finally {
    file.destroy();
    stream.destroy();
  }
}

/**
 * The lines of a (possibly compressed) file, without their `\n` / `\r\n`, streamed: memory holds one
 * decompressed chunk plus the current partial line, never the whole file. Splitting on byte 0x0A is safe in UTF-8.
 */
export async function* decompressedLines(path: string, codec: LineCodec): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let pending: Uint8Array[] = [];
  const flush = (tail: Uint8Array): string => {
    pending.push(tail);
    const bytes = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = [];
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    return decoder.decode(bytes.subarray(0, end));
  };
  for await (const chunk of chunksOf(path, codec)) {
    let from = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, from);
      if (newline < 0) break;
      yield flush(chunk.subarray(from, newline));
      from = newline + 1;
    }
    // Copy: the chunk's buffer may be reused by the stream.
    if (from < chunk.length) pending.push(chunk.slice(from));
  }
  if (pending.length > 0) yield flush(new Uint8Array(0));
}
