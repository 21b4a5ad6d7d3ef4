import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureRecords, gzipTwoMembers, toJsonl, toParquet, zstdTwoFrames } from '../test/corpus-fixtures.js';
import { corpusFormatOf } from './corpus-format.js';
import { openRecordReader } from './record-reader.js';
import { FileSource } from './sources.js';

const records = fixtureRecords(300);
const texts = records.map((r) => r.text);
const dir = mkdtempSync(join(tmpdir(), 'andes-readers-'));

async function readAll(path: string, field?: string, skip?: number): Promise<string[]> {
  const reader = await openRecordReader(path, { field, skip });
  const out: string[] = [];
  for (let r = await reader.next(); r !== null; r = await reader.next()) out.push(r.text);
  await reader.close();
  return out;
}

async function fixtures(): Promise<Record<string, string>> {
  const jsonl = toJsonl(records);
  const files: Record<string, Uint8Array | string> = {
    'c.jsonl': jsonl,
    'c.jsonl.gz': gzipTwoMembers(jsonl),
    'c4.json.gz': gzipTwoMembers(jsonl),
    'c.jsonl.zst': await zstdTwoFrames(jsonl),
    'c.parquet': toParquet(records, 64),
    'plain.parquet': toParquet(records, 1000, 'UNCOMPRESSED'),
  };
  const paths: Record<string, string> = {};
  for (const [name, data] of Object.entries(files)) {
    paths[name] = join(dir, name);
    writeFileSync(paths[name], data);
  }
  return paths;
}

const paths = await fixtures();

describe('record readers', () => {
  it('detects formats by extension', () => {
    expect(Object.keys(paths).map(corpusFormatOf)).toEqual([
      'jsonl',
      'jsonl.gz',
      'jsonl.gz',
      'jsonl.zst',
      'parquet',
      'parquet',
    ]);
    expect(corpusFormatOf('x/shard-00001.tok')).toBe('shard');
    expect(corpusFormatOf('notes.txt')).toBe('text');
  });

  for (const name of ['c.jsonl', 'c.jsonl.gz', 'c4.json.gz', 'c.jsonl.zst', 'c.parquet', 'plain.parquet']) {
    it(`round-trips every document of ${name}`, async () => {
      expect(await readAll(paths[name]!)).toEqual(texts);
    });
  }

  it('skips to a record index (the resume position of compressed and Parquet files)', async () => {
    expect(await readAll(paths['c.jsonl.zst']!, undefined, 123)).toEqual(texts.slice(123));
    expect(await readAll(paths['c.parquet']!, undefined, 130)).toEqual(texts.slice(130));
    expect(await readAll(paths['c.parquet']!, undefined, 300)).toEqual([]);
  });

  it('keeps the whole record as metadata and reads dotted fields', async () => {
    const reader = await openRecordReader(paths['c.jsonl.gz']!);
    const first = await reader.next();
    expect(first?.meta).toEqual(records[0]);
    await reader.close();
    const parquet = await openRecordReader(paths['c.parquet']!);
    expect((await parquet.next())?.meta).toMatchObject({ text: texts[0], id: 0, license: records[0]!.meta.license });
    expect(await readAll(paths['c.jsonl']!, 'meta.license')).toEqual(records.map((r) => r.meta.license));
  });

  it('names the file, line and problem on bad input', async () => {
    const bad = join(dir, 'bad.jsonl.gz');
    writeFileSync(bad, gzipTwoMembers('{"text": "ok"}\n{"text": oops}\n'));
    await expect(readAll(bad)).rejects.toThrow(/bad\.jsonl\.gz:2: invalid JSON/);
    const noField = join(dir, 'nofield.jsonl.zst');
    writeFileSync(noField, await zstdTwoFrames('{"body": "x"}\n{"body": "y"}\n'));
    await expect(readAll(noField)).rejects.toThrow(/nofield\.jsonl\.zst:1: field "text" is not a string/);
    await expect(readAll(paths['c.parquet']!, 'content')).rejects.toThrow(
      /no column "content" \(columns: text, id, license\)/,
    );
    await expect(readAll(join(dir, 'missing.jsonl.gz'))).rejects.toThrow(
      /missing\.jsonl\.gz: cannot read gzip data: ENOENT/,
    );
    const corrupt = join(dir, 'corrupt.jsonl.zst');
    writeFileSync(corrupt, Buffer.from('definitely not zstd at all'));
    await expect(readAll(corrupt)).rejects.toThrow(/corrupt\.jsonl\.zst: not a valid zstd stream/);
  });

  it('a file source over compressed files resumes exactly from its record-index state', async () => {
    const open = () =>
      FileSource.open({ name: 'web', files: [paths['c.jsonl.zst']!, paths['c.parquet']!], format: 'jsonl', epochs: 2 });
    const a = await open();
    for (let i = 0; i < 250; i++) await a.next();
    const saved = a.state();
    const rest: string[] = [];
    for (let d = await a.next(); d !== null; d = await a.next()) rest.push(d);
    expect(rest.length).toBe(2 * 600 - 250);
    const b = await open();
    await b.restore(saved);
    const again: string[] = [];
    for (let d = await b.next(); d !== null; d = await b.next()) again.push(d);
    expect(again).toEqual(rest);
    await a.close();
    await b.close();
  });
});
