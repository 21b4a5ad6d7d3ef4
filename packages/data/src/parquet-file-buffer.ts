import { open } from 'node:fs/promises';
import type { AsyncBuffer } from 'hyparquet';

/**
 * A Parquet file as hyparquet's `AsyncBuffer`: byte ranges read on demand with positional reads. Ours rather than
 * hyparquet's `asyncBufferFromFile`, which only its Node export condition has, so that bundlers resolving the browser
 * build of hyparquet still resolve this (Node-only, lazily loaded) module.
 */
export async function parquetFileBuffer(path: string): Promise<AsyncBuffer> {
  const handle = await open(path, 'r');
  let byteLength: number;
  try {
    byteLength = (await handle.stat()).size;
  } finally {
    await handle.close();
  }
  return {
    byteLength,
    async slice(start: number, end = byteLength): Promise<ArrayBuffer> {
      const length = Math.max(0, end - start);
      const bytes = new Uint8Array(length);
      if (length === 0) return bytes.buffer;
      const h = await open(path, 'r');
      try {
        let done = 0;
        while (done < length) {
          const { bytesRead } = await h.read(bytes, done, length - done, start + done);
          if (bytesRead === 0) throw new Error(`${path}: file ends at byte ${start + done}, wanted up to ${end}`);
          done += bytesRead;
        }
      } finally {
        await h.close();
      }
      return bytes.buffer;
    },
  };
}
