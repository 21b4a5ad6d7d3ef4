import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandGlob, globToRegExp, isGlobPattern } from './glob.js';

describe('globToRegExp', () => {
  const cases: [string, string, boolean][] = [
    ['*.txt', 'a.txt', true],
    ['*.txt', 'dir/a.txt', false],
    ['*.txt', '.hidden.txt', false],
    ['**/*.txt', 'a.txt', true],
    ['**/*.txt', 'x/y/z.txt', true],
    ['**/*.txt', 'x/.git/z.txt', false],
    ['data/**', 'data/a/b', true],
    ['file?.jsonl', 'file1.jsonl', true],
    ['file?.jsonl', 'file10.jsonl', false],
    ['[ab]*.md', 'b1.md', true],
    ['[!ab]*.md', 'b1.md', false],
    ['*.{txt,md}', 'x.md', true],
    ['*.{txt,md}', 'x.json', false],
    ['a+b(1).txt', 'a+b(1).txt', true],
  ];
  it.each(cases)('%s ~ %s → %s', (pattern, path, expected) => {
    expect(globToRegExp(pattern).test(path)).toBe(expected);
  });

  it('rejects unbalanced syntax', () => {
    expect(() => globToRegExp('a{b,c')).toThrow(/unclosed '\{'/);
    expect(() => globToRegExp('a[bc')).toThrow(/unclosed '\['/);
  });
});

describe('expandGlob', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'andes-glob-'));
    for (const f of ['b.txt', 'a.txt', 'sub/c.txt', 'sub/deep/d.txt', 'sub/e.md', '.hidden/f.txt']) {
      await mkdir(join(dir, f, '..'), { recursive: true });
      await writeFile(join(dir, f), f);
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists matching files sorted, relative to cwd or absolute', async () => {
    expect(await expandGlob('*.txt', dir)).toEqual([join(dir, 'a.txt'), join(dir, 'b.txt')]);
    expect(await expandGlob(join(dir, '**/*.txt'))).toEqual(
      ['a.txt', 'b.txt', 'sub/c.txt', 'sub/deep/d.txt'].map((f) => join(dir, f)),
    );
    expect(await expandGlob('sub/*', dir)).toEqual([join(dir, 'sub/c.txt'), join(dir, 'sub/e.md')]);
    expect(await expandGlob('nothing/*.txt', dir)).toEqual([]);
    expect(isGlobPattern('a/b.txt')).toBe(false);
  });
});
