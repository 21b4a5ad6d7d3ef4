import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceConfig } from './mixture-config.js';
import { type DocumentSource, openSource } from './sources.js';
import { syntheticStory } from './synthetic-stories.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'andes-sources-'));
  await writeFile(join(dir, 'book.txt'), 'First para\nstill first.\n\n\n  \nSecond para.\r\n\r\nThird\n');
  await writeFile(
    join(dir, 'docs.jsonl'),
    [
      '{"text":"alpha","meta":{"body":"A"}}',
      '',
      '{"text":"béta","meta":{"body":"B"}}',
      '{"text":"gamma","meta":{"body":"C"}}',
    ].join('\n'),
  );
  await mkdir(join(dir, 'corpus/sub'), { recursive: true });
  await mkdir(join(dir, 'corpus/.git'), { recursive: true });
  await writeFile(join(dir, 'corpus/one.txt'), 'file one\n\nstill one');
  await writeFile(join(dir, 'corpus/sub/two.txt'), 'file two');
  await writeFile(join(dir, 'corpus/.git/HEAD'), 'hidden');
  await writeFile(join(dir, 'bad.jsonl'), '{"text":"ok"}\n{"text": nope}\n');
  await writeFile(join(dir, 'nofield.jsonl'), '{"body":"x"}\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const source = (c: Partial<SourceConfig>) =>
  openSource({ name: 's', type: 'text', weight: 1, ...c } as SourceConfig, dir);

async function take(s: DocumentSource, n: number): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (let i = 0; i < n; i++) out.push((await s.next()) as string | null);
  return out;
}

describe('file sources', () => {
  it('text: paragraphs separated by blank lines (CRLF too)', async () => {
    const s = await source({ path: 'book.txt', epochs: 1 });
    expect(await take(s, 4)).toEqual(['First para\nstill first.', 'Second para.', 'Third', null]);
    await s.close();
  });

  it('text: one document per line', async () => {
    const s = await source({ path: 'book.txt', documents: 'line', epochs: 1 });
    expect(await take(s, 5)).toEqual(['First para', 'still first.', 'Second para.', 'Third', null]);
  });

  it('jsonl: text field, dotted field, blank lines skipped', async () => {
    expect(await take(await source({ type: 'jsonl', path: 'docs.jsonl', epochs: 1 }), 4)).toEqual([
      'alpha',
      'béta',
      'gamma',
      null,
    ]);
    expect(await take(await source({ type: 'jsonl', path: 'docs.jsonl', field: 'meta.body', epochs: 1 }), 3)).toEqual([
      'A',
      'B',
      'C',
    ]);
  });

  it('jsonl: errors name source, file and byte offset', async () => {
    const bad = await source({ type: 'jsonl', path: 'bad.jsonl' });
    await bad.next();
    await expect(bad.next()).rejects.toThrow(/source s: invalid JSON in .*bad\.jsonl at byte 14/);
    await expect((await source({ type: 'jsonl', path: 'nofield.jsonl' })).next()).rejects.toThrow(
      /field "text" is not a string in .*nofield\.jsonl at byte 0/,
    );
    await expect(source({ path: 'missing.txt' })).rejects.toThrow(/source s: .*missing\.txt does not exist/);
    await expect(source({ path: '*.csv' })).rejects.toThrow(/no files match "\*\.csv"/);
  });

  it('glob and directory: one document per file, sorted, hidden files skipped', async () => {
    const viaGlob = await source({ type: 'glob', path: 'corpus/**/*.txt', epochs: 1 });
    expect(await take(viaGlob, 3)).toEqual(['file one\n\nstill one', 'file two', null]);
    const viaDir = await source({ type: 'glob', path: 'corpus', epochs: 1 });
    expect(await take(viaDir, 3)).toEqual(['file one\n\nstill one', 'file two', null]);
    const paragraphs = await source({ type: 'text', path: 'corpus', epochs: 1 });
    expect(await take(paragraphs, 4)).toEqual(['file one', 'still one', 'file two', null]);
  });

  it('repeats for the given epochs, fractional epochs stop part-way, unlimited loops', async () => {
    const two = await source({ type: 'jsonl', path: 'docs.jsonl', epochs: 2 });
    expect(await take(two, 7)).toEqual(['alpha', 'béta', 'gamma', 'alpha', 'béta', 'gamma', null]);
    // 1.5 passes: the second pass stops once half the bytes are read (after 'béta' starts past half).
    const oneAndHalf = await source({ type: 'jsonl', path: 'docs.jsonl', epochs: 1.5 });
    expect(await take(oneAndHalf, 6)).toEqual(['alpha', 'béta', 'gamma', 'alpha', 'béta', null]);
    const forever = await source({ type: 'jsonl', path: 'docs.jsonl' });
    expect((await take(forever, 10)).at(-1)).toBe('alpha');
    expect(forever.state().epoch).toBe(3);
  });

  it('restores a saved position exactly, across files and epochs', async () => {
    const a = await source({ path: 'corpus', epochs: 3 });
    const head = await take(a, 4);
    const saved = JSON.parse(JSON.stringify(a.state()));
    const rest = await take(a, 6);
    const b = await source({ path: 'corpus', epochs: 3 });
    await b.restore(saved);
    expect(await take(b, 6)).toEqual(rest);
    expect(head).toEqual(['file one', 'still one', 'file two', 'file one']);
    expect(rest.at(-1)).toBeNull();
  });
});

describe('synthetic source', () => {
  it('yields the seeded stories and restores by index', async () => {
    const s = await openSource({ name: 'st', type: 'synthetic', weight: 1, seed: 9 }, dir);
    expect(await take(s, 2)).toEqual([syntheticStory(9, 0), syntheticStory(9, 1)]);
    const saved = s.state();
    const next = await s.next();
    await s.restore(saved);
    expect(await s.next()).toBe(next);
  });
});
