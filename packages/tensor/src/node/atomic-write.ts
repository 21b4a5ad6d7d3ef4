/**
 * Atomic file writes — the one home of them for every package and app (checkpoints, run directories, reports,
 * tokenizer files): readers see the old file or the complete new one, never a torn one. Node only (`node:fs`), so it
 * is reachable only through the `@andes/tensor/node` entry, never from the browser-safe main entry.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Appends bytes to the file being written. */
export type WriteChunk = (bytes: Uint8Array) => Promise<void>;

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

// Some platforms (Windows) cannot open directories for syncing; there the rename is already as durable as it gets.
function unsyncableDirectory(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL' || code === 'EBADF';
}

/** fsyncs a directory so a rename inside it survives a crash (a no-op where directories cannot be synced). */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    if (!unsyncableDirectory(e)) throw e;
  } finally {
    await handle?.close();
  }
}

/** Synchronous {@link fsyncDirectory}. */
export function fsyncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (e) {
    if (!unsyncableDirectory(e)) throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
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
 * Synchronous {@link writeFileAtomic}, for callers that must not yield (a CLI's final report, a run's config written
 * before training starts): the same temp file, fsync, rename and directory fsync.
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirectorySync(dirname(path));
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
