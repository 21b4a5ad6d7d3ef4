import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShardManifest } from '@andes/data/node';
import { writeFileAtomic } from '@andes/tensor/node';
import { trainBpe } from '@andes/tokenizer';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG } from './config.js';
import { prepareTokenizer, resolveMixture } from './run-data.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-run-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const name of ['a.jsonl.zst', 'b.json.gz', 'c.parquet', 'd.tok', 'e.txt']) writeFileSync(join(dir, name), 'x');
const tokenizerPath = join(dir, 'tok.model');
const tokenizer = await trainBpe(['a small corpus for a small tokenizer'], { vocabSize: 300 });
await tokenizer.save(tokenizerPath, writeFileAtomic);
const manifest = {
  format: 'andes-shards',
  version: 1,
  tokenizer: {
    file: 'tok.model',
    sha256: 'x',
    vocabSize: tokenizer.vocabSize,
    bosId: tokenizer.bosId,
    eosId: tokenizer.eosId,
  },
  dtype: 'uint16',
  slices: [0],
  sliceCount: 1,
  sources: [
    { name: 'Wikipedia', directory: 'Wikipedia', weight: 4.5, epochs: 2.45, shards: [] },
    { name: 'C4', directory: 'C4', weight: 15, shards: [] },
  ],
} as unknown as ShardManifest;
mkdirSync(join(dir, 'shards'));
writeFileSync(join(dir, 'shards', 'manifest.json'), JSON.stringify(manifest));
mkdirSync(join(dir, 'empty'));

describe('--data resolution', () => {
  it('maps corpus files to sources by extension and keeps text files as text', () => {
    const type = (name: string) => resolveMixture(name, dir).mixture.sources[0]!.type;
    expect(['a.jsonl.zst', 'b.json.gz', 'c.parquet', 'd.tok', 'e.txt'].map(type)).toEqual([
      'jsonl',
      'jsonl',
      'parquet',
      'shards',
      'text',
    ]);
  });

  it('turns a shard directory into its prepared mixture, relative to the directory', () => {
    const resolved = resolveMixture('shards', dir);
    expect(resolved.baseDir).toBe(join(dir, 'shards'));
    expect(resolved.mixture.sources).toEqual([
      { name: 'Wikipedia', type: 'shards', path: 'Wikipedia', weight: 4.5, epochs: 2.45 },
      { name: 'C4', type: 'shards', path: 'C4', weight: 15 },
    ]);
    expect(() => resolveMixture('empty', dir)).toThrow(/--data empty: a directory must hold a shard manifest\.json/);
  });

  it('needs the shards’ tokenizer and checks its vocabulary', async () => {
    const data = resolveMixture('shards', dir);
    await expect(prepareTokenizer({ ...DEFAULT_CONFIG, tokenizer: '' }, data)).rejects.toThrow(
      new RegExp(
        `--data holds pre-tokenized shards: pass --tokenizer .*\\(tok\\.model, vocabulary ${tokenizer.vocabSize}\\)`,
      ),
    );
    expect((await prepareTokenizer({ ...DEFAULT_CONFIG, tokenizer: tokenizerPath }, data)).vocabSize).toBe(
      tokenizer.vocabSize,
    );
    const other = { ...data, shardManifest: { ...manifest, tokenizer: { ...manifest.tokenizer, vocabSize: 512 } } };
    const err = await prepareTokenizer({ ...DEFAULT_CONFIG, tokenizer: tokenizerPath }, other).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/vocabulary \d+ .* does not match the shards' tok\.model \(vocabulary 512/);
  });
});
