import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { ShardReader } from './shard-reader.js';
import { ShardWriter } from './shard-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-shards-'));

function randomDocs(seed: number, count: number, vocab: number): number[][] {
  const rng = new SeededRandom(seed);
  // Include empty documents and one long one that crosses the writer's flush buffer.
  return Array.from({ length: count }, (_, i) =>
    Array.from({ length: i === 5 ? 270_000 : i % 17 === 0 ? 0 : 1 + rng.int(500) }, () => rng.int(vocab)),
  );
}

/** Element-wise equality without vitest's slow deep diff on 300k-element arrays. */
function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function writeShard(path: string, docs: number[][], vocab: number) {
  const writer = await ShardWriter.create(path, vocab);
  for (const d of docs) await writer.append(d);
  return writer.finish();
}

/** Reads a shard the way numpy.memmap would: fixed offsets from SHARDS.md, no code from this package. */
function readLikeNumpy(path: string) {
  const buf = readFileSync(path);
  const magic = buf.subarray(0, 8).toString('latin1');
  const bytesPerToken = buf.readUInt32LE(12);
  const count = Number(buf.readBigUInt64LE(16));
  const docs = Number(buf.readBigUInt64LE(24));
  const tokensAt = Number(buf.readBigUInt64LE(32));
  const indexAt = tokensAt + count * bytesPerToken;
  const tokens = Array.from({ length: count }, (_, i) =>
    bytesPerToken === 2 ? buf.readUInt16LE(tokensAt + 2 * i) : buf.readUInt32LE(tokensAt + 4 * i),
  );
  const starts = Array.from({ length: docs + 1 }, (_, i) => Number(buf.readBigUInt64LE(indexAt + 8 * i)));
  return {
    magic,
    version: buf.readUInt32LE(8),
    bytesPerToken,
    tokens,
    starts,
    vocab: buf.readUInt32LE(48),
    size: buf.length,
  };
}

describe('token shards', () => {
  for (const vocab of [1000, 65_536, 70_000]) {
    it(`round-trip and read by byte arithmetic (vocab ${vocab})`, async () => {
      const docs = randomDocs(vocab, 60, vocab);
      const path = join(dir, `v${vocab}.tok`);
      const written = await writeShard(path, docs, vocab);
      const flat = docs.flat();
      const raw = readLikeNumpy(path);
      expect(raw.magic).toBe('ANDESTOK');
      expect(raw.version).toBe(1);
      expect(raw.bytesPerToken).toBe(vocab <= 65_536 ? 2 : 4);
      expect(raw.vocab).toBe(vocab);
      expect(same(raw.tokens, flat)).toBe(true);
      const starts = [0];
      for (const d of docs) starts.push(starts.at(-1)! + d.length);
      expect(raw.starts).toEqual(starts);
      expect(written).toMatchObject({ documents: 60, tokens: flat.length, bytes: raw.size });
      expect(written.sha256).toBe(createHash('sha256').update(readFileSync(path)).digest('hex'));
      const reader = await ShardReader.open(path);
      for (let i = 0; i < docs.length; i++) expect(same(await reader.readDocument(i), docs[i]!)).toBe(true);
      await reader.close();
      expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    });
  }

  it('rejects ids outside the vocabulary, naming the shard', async () => {
    const writer = await ShardWriter.create(join(dir, 'bad.tok'), 100);
    await expect(writer.append([1, 2, 100])).rejects.toThrow(
      /bad\.tok: token id 100 is outside the vocabulary \[0, 100\)/,
    );
    await writer.abort();
    expect(readdirSync(dir).filter((n) => n.startsWith('bad.tok'))).toEqual([]);
  });

  it('names the file and the broken field of a damaged shard', async () => {
    const path = join(dir, 'damaged.tok');
    await writeShard(path, randomDocs(3, 10, 500), 500);
    truncateSync(path, 1000);
    await expect(ShardReader.open(path)).rejects.toThrow(
      /damaged\.tok: shard is 1000 bytes but its header describes \d+/,
    );
    const notShard = join(dir, 'text.tok');
    writeFileSync(notShard, Buffer.alloc(300, 0x41));
    await expect(ShardReader.open(notShard)).rejects.toThrow(/text\.tok: not a token shard \(magic "AAAAAAAA"/);
  });
});
