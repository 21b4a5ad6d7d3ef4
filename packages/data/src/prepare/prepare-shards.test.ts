import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '@andes/tensor';
import { writeFileAtomic } from '@andes/tensor/node';
import { trainBpe } from '@andes/tokenizer';
import { describe, expect, it } from 'vitest';
import { toParquet, zstdTwoFrames } from '../../test/corpus-fixtures.js';
import { cleanC4 } from '../filters/c4.js';
import { createLoader } from '../loader.js';
import type { MixtureConfig } from '../mixture-config.js';
import { ShardReader } from '../shard-reader.js';
import { sha256File } from '../shard-writer.js';
import { prepareShards } from './prepare-shards.js';
import { mergeShardManifests, mixtureFromManifest, readShardManifest } from './shard-manifest.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-prepare-'));
const rng = new SeededRandom(7);
const words = ['river', 'stone', 'light', 'north', 'garden', 'quiet', 'market', 'winter', 'paper', 'signal'];
const sentence = () => `${Array.from({ length: 4 + rng.int(8) }, () => rng.pick(words)).join(' ')}.`;

// Web pages for C4 cleaning: good pages, pages with curly braces or too few sentences, menu lines to cut.
const web = Array.from({ length: 120 }, (_, i) => {
  const lines = Array.from({ length: 3 + rng.int(6) }, () => `${sentence()} ${sentence()}`);
  if (i % 5 === 0) lines.push('Home | About | Contact');
  if (i % 7 === 0) lines.push('function () { return 1; }');
  return lines.join('\n');
});
const books = Array.from({ length: 40 }, (_, i) => `Book ${i}. ${Array.from({ length: 30 }, sentence).join(' ')}`);
for (let i = 0; i < 4; i++)
  writeFileSync(
    join(dir, `web-${i}.jsonl.zst`),
    await zstdTwoFrames(
      web
        .slice(i * 30, (i + 1) * 30)
        .map((text) => JSON.stringify({ text }))
        .join('\n'),
    ),
  );
writeFileSync(
  join(dir, 'books-0.parquet'),
  toParquet(
    books.slice(0, 20).map((text, id) => ({ text, meta: { id, license: 'mit' } })),
    8,
  ),
);
writeFileSync(
  join(dir, 'books-1.parquet'),
  toParquet(
    books.slice(20).map((text, id) => ({ text, meta: { id, license: 'mit' } })),
    8,
  ),
);
const tokenizer = await trainBpe([...web, ...books], { vocabSize: 400 });
const tokenizerPath = join(dir, 'tokenizer.model');
await tokenizer.save(tokenizerPath, writeFileAtomic);

const mixture: MixtureConfig = {
  sources: [
    { name: 'web', type: 'jsonl', path: 'web-*.jsonl.zst', weight: 3, epochs: 2, filters: ['c4', 'exact-dedup'] },
    { name: 'books', type: 'parquet', path: 'books-*.parquet', weight: 1 },
  ],
};

async function shardDocuments(root: string, paths: string[]): Promise<number[][]> {
  const out: number[][] = [];
  for (const p of paths) {
    const reader = await ShardReader.open(join(root, p));
    for (let i = 0; i < reader.documentCount; i++) out.push([...(await reader.readDocument(i))]);
    await reader.close();
  }
  return out;
}

describe('prepareShards', () => {
  it('writes shards equal to tokenizing the cleaned documents, with counts and checksums in the manifest', async () => {
    const out = join(dir, 'shards');
    const progress: number[] = [];
    const manifest = await prepareShards({
      mixture,
      baseDir: dir,
      tokenizerPath,
      outDir: out,
      workers: 1,
      shardTokens: 2000,
      batchDocuments: 16,
      onProgress: (p) => progress.push(p.tokens),
    });
    const cleaned = web.map((t) => cleanC4(t)).filter((t): t is string => t !== null);
    expect(cleaned.length).toBeGreaterThan(50);
    expect(cleaned.length).toBeLessThan(web.length);
    const [webOut, booksOut] = manifest.sources;
    expect(
      await shardDocuments(
        out,
        webOut!.shards.map((s) => s.path),
      ),
    ).toEqual(cleaned.map((t) => tokenizer.encode(t)));
    expect(
      await shardDocuments(
        out,
        booksOut!.shards.map((s) => s.path),
      ),
    ).toEqual(books.map((t) => tokenizer.encode(t)));
    expect(webOut!.shards.length).toBeGreaterThan(1);
    expect(webOut!.input).toEqual({
      files: 4,
      documents: 120,
      bytes: web.reduce((s, t) => s + Buffer.byteLength(t), 0),
    });
    expect(webOut!.kept.documents).toBe(cleaned.length);
    expect(webOut!.removed.documents).toBe(120 - cleaned.length);
    expect(webOut!.filterReports.map((r) => [r.filter, r.documentsIn, r.documentsRemoved])).toEqual([
      ['c4', 120, 120 - cleaned.length],
      ['exact-dedup', cleaned.length, 0],
    ]);
    expect(webOut!.filterReports[0]!.bytesRemoved).toBe(webOut!.removed.bytes);
    for (const s of [...webOut!.shards, ...booksOut!.shards])
      expect(s.sha256).toBe(await sha256File(join(out, s.path)));
    expect(manifest.dtype).toBe('uint16');
    expect(progress.at(-1)).toBe(webOut!.kept.tokens + booksOut!.kept.tokens);
    expect(await readShardManifest(join(out, 'manifest.json'))).toEqual(manifest);
  });

  it('slices i/N cover the inputs once; --merge joins their manifests', async () => {
    const whole = await prepareShards({ mixture, baseDir: dir, tokenizerPath, outDir: join(dir, 'whole'), workers: 0 });
    const out = join(dir, 'sliced');
    for (const index of [1, 0]) {
      await prepareShards({
        mixture,
        baseDir: dir,
        tokenizerPath,
        outDir: out,
        slice: { index, count: 2 },
        workers: 0,
      });
    }
    const merged = await mergeShardManifests(out);
    expect(merged.slices).toEqual([0, 1]);
    for (const [i, s] of merged.sources.entries()) {
      expect(s.kept).toEqual(whole.sources[i]!.kept);
      expect(s.input).toEqual(whole.sources[i]!.input);
      expect(s.filterReports).toEqual(whole.sources[i]!.filterReports);
      const docs = await shardDocuments(
        out,
        s.shards.map((x) => x.path),
      );
      const wholeDocs = await shardDocuments(
        join(dir, 'whole'),
        whole.sources[i]!.shards.map((x) => x.path),
      );
      expect(docs.map((d) => d.join(',')).sort()).toEqual(wholeDocs.map((d) => d.join(',')).sort());
    }
    const partial = join(dir, 'partial');
    await prepareShards({
      mixture,
      baseDir: dir,
      tokenizerPath,
      outDir: partial,
      slice: { index: 0, count: 3 },
      workers: 0,
    });
    await expect(mergeShardManifests(partial)).rejects.toThrow(/slices 1, 2 of 3 are missing/);
  });

  it('the loader trains from a shard directory exactly as from the raw files, and resumes', async () => {
    const out = join(dir, 'for-loader');
    // Whole epochs (books gets 1 here) so both loaders end at the same place: a fractional last pass is measured in
    // bytes of text for raw files but in tokens for shards.
    const raw: MixtureConfig = { sources: mixture.sources.map(({ filters: _, ...s }) => ({ epochs: 1, ...s })) };
    const manifest = await prepareShards({ mixture: raw, baseDir: dir, tokenizerPath, outDir: out, workers: 0 });
    const common = { tokenizer, seqLen: 32, batchSize: 4, seed: 3, valFraction: 0, shuffleWindow: 8 };
    const fromText = await createLoader({ ...common, mixture: raw, baseDir: dir });
    const fromShards = await createLoader({ ...common, mixture: mixtureFromManifest(manifest), baseDir: out });
    let batches = 0;
    let saved = fromShards.state();
    for (;;) {
      const a = await fromText.next();
      const b = await fromShards.next();
      expect(b).toEqual(a);
      if (a === null) break;
      if (++batches === 20) saved = fromShards.state();
    }
    expect(batches).toBeGreaterThan(40);
    const resumed = await createLoader({
      ...common,
      mixture: mixtureFromManifest(manifest),
      baseDir: out,
      resumeFrom: saved,
    });
    const again = await createLoader({ ...common, mixture: mixtureFromManifest(manifest), baseDir: out });
    for (let i = 0; i < 20; i++) await again.next();
    for (let i = 0; i < 10; i++) expect(await resumed.next()).toEqual(await again.next());
    await Promise.all([fromText.close(), fromShards.close(), resumed.close(), again.close()]);
  });

  it('refuses sources it cannot read once and names bad filters', async () => {
    const synthetic: MixtureConfig = { sources: [{ name: 'stories', type: 'synthetic', weight: 1 }] };
    await expect(prepareShards({ mixture: synthetic, tokenizerPath, outDir: join(dir, 'x') })).rejects.toThrow(
      /source stories is synthetic/,
    );
    const badFilter: MixtureConfig = { sources: [{ ...mixture.sources[0]!, filters: ['c5'] }] };
    await expect(
      prepareShards({ mixture: badFilter, baseDir: dir, tokenizerPath, outDir: join(dir, 'y'), workers: 0 }),
    ).rejects.toThrow(/source web filters\[0\]: unknown filter "c5"/);
  });
});
