import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDirectoryAtomic, writeFileAtomic, writeFileAtomicSync, writeFileAtomicWith } from './atomic-write.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'andes-atomic-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('creates parent directories, replaces existing files and leaves no temp files', async () => {
    const path = join(dir, 'a', 'b', 'file.bin');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, 'héllo');
    expect(await readFile(path, 'utf8')).toBe('héllo');
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['file.bin']);
  });

  it('keeps the old file and removes the temp file when writing fails midway', async () => {
    const path = join(dir, 'keep.txt');
    await writeFile(path, 'old');
    await expect(
      writeFileAtomicWith(path, async (write) => {
        await write(new TextEncoder().encode('new partial'));
        throw new Error('disk full (simulated)');
      }),
    ).rejects.toThrow(/disk full/);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect((await readdir(dir)).filter((f) => f.includes('keep'))).toEqual(['keep.txt']);
  });
});

describe('writeFileAtomicSync', () => {
  it('creates parent directories, replaces existing files byte for byte and leaves no temp files', async () => {
    const path = join(dir, 'sync', 'c', 'report.json');
    const bytes = Uint8Array.from({ length: 70_001 }, (_, i) => (i * 131 + 7) & 255);
    writeFileAtomicSync(path, bytes);
    expect(new Uint8Array(await readFile(path))).toEqual(bytes);
    writeFileAtomicSync(path, 'ünïcode\n');
    expect(await readFile(path, 'utf8')).toBe('ünïcode\n');
    expect(await readdir(join(dir, 'sync', 'c'))).toEqual(['report.json']);
  });

  it('leaves the old file and no temp file when the target cannot be replaced', async () => {
    const target = join(dir, 'sync-dir-target');
    await mkdir(join(target, 'occupied'), { recursive: true });
    // A non-empty directory where the file should go: rename fails, and nothing is left behind.
    expect(() => writeFileAtomicSync(target, 'data')).toThrow();
    expect((await readdir(dir)).filter((f) => f.includes('sync-dir-target'))).toEqual(['sync-dir-target']);
    expect(await readdir(target)).toEqual(['occupied']);
  });
});

describe('writeDirectoryAtomic', () => {
  it('builds a directory under a temp name and swaps it in, replacing the old one', async () => {
    const target = join(dir, 'model');
    await writeDirectoryAtomic(target, async (tmp) => {
      expect(tmp).not.toBe(target);
      await writeFile(join(tmp, 'one'), '1');
    });
    await writeDirectoryAtomic(target, async (tmp) => {
      await writeFile(join(tmp, 'two'), '2');
    });
    expect(await readdir(target)).toEqual(['two']);
    expect((await readdir(dir)).filter((f) => f.includes('model'))).toEqual(['model']);
  });

  it('leaves the previous directory untouched when filling fails', async () => {
    const target = join(dir, 'stable');
    await writeDirectoryAtomic(target, async (tmp) => writeFile(join(tmp, 'good'), 'g'));
    await expect(
      writeDirectoryAtomic(target, async (tmp) => {
        await writeFile(join(tmp, 'half'), 'h');
        throw new Error('crash (simulated)');
      }),
    ).rejects.toThrow(/crash/);
    expect(await readdir(target)).toEqual(['good']);
    expect((await readdir(dir)).filter((f) => f.includes('stable'))).toEqual(['stable']);
  });
});
