import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@andes/tensor/node';

/** A directory's manifest: each file's size and SHA-256, written last so its presence means "complete". */
export interface Manifest {
  /** Format version. */
  version: 1;
  /** File name (relative to the directory) → size in bytes and lowercase hex SHA-256. */
  files: Record<string, { bytes: number; sha256: string }>;
}

/** File name of the manifest inside a checkpoint directory. */
export const manifestFile = 'manifest.json';

/** Lowercase hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Hashes the listed files of `dir` and writes `manifest.json` atomically. */
export async function writeManifest(dir: string, files: readonly string[]): Promise<Manifest> {
  const manifest: Manifest = { version: 1, files: {} };
  for (const file of files) {
    const bytes = await readFile(join(dir, file));
    manifest.files[file] = { bytes: bytes.length, sha256: sha256Hex(bytes) };
  }
  await writeFileAtomic(join(dir, manifestFile), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/**
 * Reads every file listed in `dir/manifest.json` and checks its size and SHA-256, returning the
 * verified bytes. Nothing is returned unless every file checks out.
 *
 * @throws Error naming the directory and the missing, truncated or corrupted file.
 */
export async function readVerifiedFiles(dir: string): Promise<Map<string, Uint8Array>> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, manifestFile), 'utf8')) as Manifest;
  } catch (e) {
    throw new Error(`checkpoint ${dir}: cannot read ${manifestFile} (${(e as Error).message})`);
  }
  if (manifest?.version !== 1 || typeof manifest.files !== 'object' || manifest.files === null) {
    throw new Error(`checkpoint ${dir}: ${manifestFile} is not a version 1 manifest`);
  }
  const out = new Map<string, Uint8Array>();
  for (const [file, expected] of Object.entries(manifest.files)) {
    const path = join(dir, file);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new Error(`checkpoint ${dir}: cannot read ${file} listed in the manifest (${(e as Error).message})`);
    }
    if (bytes.length !== expected.bytes) {
      throw new Error(
        `checkpoint ${dir}: ${file} has ${bytes.length} bytes but the manifest says ${expected.bytes} (truncated?)`,
      );
    }
    const actual = sha256Hex(bytes);
    if (actual !== expected.sha256) {
      throw new Error(`checkpoint ${dir}: ${file} is corrupted (sha256 ${actual}, manifest ${expected.sha256})`);
    }
    out.set(file, bytes);
  }
  return out;
}
