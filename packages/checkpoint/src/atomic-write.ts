import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Appends bytes to the file being written. */
export type WriteChunk = (bytes: Uint8Array) => Promise<void>;

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * fsyncs a directory so a rename inside it survives a crash. Some platforms (Windows) cannot open
 * directories for syncing; there the rename is already as durable as it gets, so that error is ignored.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes a file atomically, streaming: `fill` appends chunks to a temporary file in the same
 * directory, which is then fsynced and renamed over `path`, and the directory fsynced. Readers see
 * either the old file or the complete new one, never a partial write; on error the temp file is removed.
 */
export async function writeFileAtomicWith(path: string, fill: (write: WriteChunk) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  const handle = await open(tmp, 'wx');
  try {
    try {
      await fill(async (bytes) => {
        let done = 0;
        while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
      });
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDirectory(dirname(path));
}

/** Writes `data` (bytes, or a string as UTF-8) to `path` atomically: temp file, fsync, rename, fsync dir. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  await writeFileAtomicWith(path, (write) => write(bytes));
}

/**
 * Creates a directory atomically: `fill` writes into a fresh temporary sibling directory, which is
 * fsynced and renamed to `dir`. An existing `dir` is replaced (moved aside, then deleted), so at every
 * moment `dir` is either absent, the old complete directory, or the new complete one.
 */
export async function writeDirectoryAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const tmp = tempName(dir);
  await mkdir(tmp);
  try {
    await fill(tmp);
    await fsyncDirectory(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = `${tmp}.old`;
  let movedAside = false;
  try {
    await rename(dir, old);
    movedAside = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  try {
    await rename(tmp, dir);
  } catch (e) {
    // Put the previous directory back so a failed swap never leaves `dir` missing.
    if (movedAside) await rename(old, dir).catch(() => {});
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await fsyncDirectory(parent);
  if (movedAside) await rm(old, { recursive: true, force: true });
}
