import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShardSource } from './shard-source.js';
import { ShardWriter } from './shard-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-shard-source-'));
// Two shards: documents of 10 tokens each (values say shard and document), 30 + 10 documents = 400 tokens a pass.
const files = [join(dir, 'a.tok'), join(dir, 'b.tok')];
for (const [f, path] of files.entries()) {
  const writer = await ShardWriter.create(path, 1000);
  for (let d = 0; d < (f === 0 ? 30 : 10); d++) await writer.append(Array.from({ length: 10 }, () => f * 100 + d));
  await writer.finish();
}

async function drain(source: ShardSource): Promise<number[]> {
  const firsts: number[] = [];
  for (let d = await source.next(); d !== null; d = await source.next()) firsts.push(d[0]!);
  return firsts;
}

describe('ShardSource', () => {
  it('reads whole passes and stops a fractional last pass after that fraction of the tokens', async () => {
    const source = await ShardSource.open({ name: 's', files, epochs: 1.25 });
    const got = await drain(source);
    // One pass (40 documents), then 25% of 400 tokens = 100 tokens = 10 documents.
    const pass = [...Array.from({ length: 30 }, (_, d) => d), ...Array.from({ length: 10 }, (_, d) => 100 + d)];
    expect(got).toEqual([...pass, ...pass.slice(0, 10)]);
    await source.close();
  });

  it('resumes exactly from a saved state, also inside the fractional pass', async () => {
    for (const stop of [5, 33, 45]) {
      const a = await ShardSource.open({ name: 's', files, epochs: 1.5 });
      for (let i = 0; i < stop; i++) await a.next();
      const saved = a.state();
      const rest = await drain(a);
      const b = await ShardSource.open({ name: 's', files, epochs: 1.5 });
      await b.restore(saved);
      expect(await drain(b)).toEqual(rest);
      expect(rest.length).toBe(60 - stop);
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('rejects a state outside the shards', async () => {
    const s = await ShardSource.open({ name: 'books', files });
    await expect(s.restore({ epoch: 0, file: 2, offset: 0 })).rejects.toThrow(
      /source books: state \(file 2, document 0\) is outside the 2 shards/,
    );
    await s.close();
  });
});
