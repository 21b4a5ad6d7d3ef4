import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentStream } from './document-stream.js';
import { type Batch, createLoader, type LoaderOptions } from './loader.js';
import { parseLoaderState } from './loader-state.js';
import type { MixtureConfig } from './mixture-config.js';
import type { DataTokenizer } from './packing.js';

/** Byte-level test tokenizer: id = byte + 3, BOS = 1, EOS = 2 — trivially invertible. */
const byteTokenizer: DataTokenizer = {
  encode: (text) => Array.from(new TextEncoder().encode(text), (b) => b + 3),
  bosId: 1,
  eosId: 2,
};

let dir: string;
const docs = Array.from({ length: 40 }, (_, i) => `document ${i}: ${'word '.repeat((i * 7) % 13)}end`);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'andes-loader-'));
  await writeFile(join(dir, 'docs.txt'), docs.join('\n\n') + '\n');
  await writeFile(
    join(dir, 'a.jsonl'),
    Array.from({ length: 50 }, (_, i) => JSON.stringify({ text: `A${i}` })).join('\n'),
  );
  await writeFile(
    join(dir, 'b.jsonl'),
    Array.from({ length: 50 }, (_, i) => JSON.stringify({ text: `B${i}` })).join('\n'),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const textMixture: MixtureConfig = {
  sources: [{ name: 'docs', type: 'text', path: 'docs.txt', weight: 1, epochs: 1 }],
};

async function collect(options: Partial<LoaderOptions>, n = Infinity): Promise<Batch[]> {
  const loader = await createLoader({
    mixture: textMixture,
    tokenizer: byteTokenizer,
    seqLen: 16,
    batchSize: 3,
    baseDir: dir,
    valFraction: 0,
    ...options,
  });
  const out: Batch[] = [];
  while (out.length < n) {
    const b = await loader.next();
    if (b === null) break;
    out.push(b);
  }
  await loader.close();
  return out;
}

/** Reference packing: all documents as [BOS, bytes…, EOS], rows at stride seqLen of length seqLen + 1. */
function referenceRows(seqLen: number): number[][] {
  return referenceRowsOf(
    docs.flatMap((d) => [1, ...byteTokenizer.encode(d), 2]),
    seqLen,
  );
}

function referenceRowsOf(stream: number[], seqLen: number): number[][] {
  const rows = [];
  for (let k = 0; (k + 1) * seqLen + 1 <= stream.length; k++)
    rows.push(stream.slice(k * seqLen, k * seqLen + seqLen + 1));
  return rows;
}

function rowsOf(batches: Batch[]): number[][] {
  const rows = [];
  for (const b of batches) {
    for (let r = 0; r < b.batchSize; r++) {
      const inp = Array.from(b.inputs.subarray(r * b.seqLen, (r + 1) * b.seqLen));
      const tgt = Array.from(b.targets.subarray(r * b.seqLen, (r + 1) * b.seqLen));
      expect(tgt.slice(0, -1)).toEqual(inp.slice(1)); // targets are inputs shifted by one
      rows.push([...inp, tgt.at(-1)!]);
    }
  }
  return rows;
}

describe('createLoader', () => {
  it('packs BOS + text + EOS back to back into rows of seqLen + 1 at stride seqLen (no shuffle)', async () => {
    const batches = await collect({ shuffleWindow: 1 });
    const ref = referenceRows(16);
    const full = Math.floor(ref.length / 3) * 3; // the last partial batch is dropped
    expect(rowsOf(batches)).toEqual(ref.slice(0, full));
    expect(batches[0]!.inputs.length).toBe(3 * 16);
  });

  it('adds no BOS/EOS when the options are off or the tokenizer has none (id −1)', async () => {
    const plain = referenceRowsOf(
      docs.flatMap((d) => byteTokenizer.encode(d)),
      16,
    );
    const off = rowsOf(await collect({ shuffleWindow: 1, batchSize: 1, bos: false, eos: false }));
    expect(off).toEqual(plain);
    const none = { ...byteTokenizer, bosId: -1, eosId: -1 };
    expect(rowsOf(await collect({ shuffleWindow: 1, batchSize: 1, tokenizer: none }))).toEqual(plain);
    const eosOnly = rowsOf(await collect({ shuffleWindow: 1, batchSize: 1, bos: false }));
    expect(eosOnly).toEqual(
      referenceRowsOf(
        docs.flatMap((d) => [...byteTokenizer.encode(d), 2]),
        16,
      ),
    );
  });

  it('shuffles within windows: each window is a permutation of the unshuffled rows', async () => {
    const window = 7;
    const rows = rowsOf(await collect({ shuffleWindow: window, batchSize: 1 }));
    const ref = referenceRows(16);
    expect(rows.length).toBe(ref.length);
    expect(rows).not.toEqual(ref);
    for (let w = 0; w < ref.length; w += window) {
      const key = (r: number[]) => r.join(',');
      expect(
        rows
          .slice(w, w + window)
          .map(key)
          .sort(),
      ).toEqual(
        ref
          .slice(w, w + window)
          .map(key)
          .sort(),
      );
    }
  });

  it('resumes exactly: k batches, save JSON state, recreate, next m batches equal an uninterrupted run', async () => {
    const rng = new SeededRandom(99);
    const mixture: MixtureConfig = {
      sources: [
        { name: 'docs', type: 'text', path: 'docs.txt', weight: 1, epochs: 3 },
        { name: 'stories', type: 'synthetic', weight: 2, seed: 4 },
        { name: 'a', type: 'jsonl', path: 'a.jsonl', weight: 0.5 },
      ],
    };
    for (let trial = 0; trial < 6; trial++) {
      const options = {
        mixture,
        seqLen: 5 + rng.int(60),
        batchSize: 1 + rng.int(4),
        shuffleWindow: 1 + rng.int(12),
        seed: rng.int(1000),
        valFraction: 0.05,
      };
      const k = rng.int(15);
      const m = 1 + rng.int(10);
      const uninterrupted = await collect(options, k + m);
      const first = await createLoader({ ...options, tokenizer: byteTokenizer, baseDir: dir });
      for (let i = 0; i < k; i++) await first.next();
      const saved = JSON.parse(JSON.stringify(first.state()));
      await first.close();
      expect(saved.batches).toBe(k);
      expect(JSON.stringify(saved).length).toBeLessThan(600); // a few hundred bytes, whatever the window size
      const resumed = await collect({ ...options, resumeFrom: saved }, m);
      expect(resumed.map((b) => Array.from(b.inputs))).toEqual(uninterrupted.slice(k).map((b) => Array.from(b.inputs)));
      expect(resumed.map((b) => Array.from(b.targets))).toEqual(
        uninterrupted.slice(k).map((b) => Array.from(b.targets)),
      );
    }
  });

  it('resuming at the end of the data yields nothing more', async () => {
    const loader = await createLoader({
      mixture: textMixture,
      tokenizer: byteTokenizer,
      seqLen: 16,
      batchSize: 3,
      baseDir: dir,
      valFraction: 0,
    });
    while ((await loader.next()) !== null) {}
    const resumed = await collect({ resumeFrom: loader.state() });
    expect(resumed).toEqual([]);
  });

  it('validates a state read back from JSON, naming the broken field', async () => {
    const loader = await createLoader({
      mixture: textMixture,
      tokenizer: byteTokenizer,
      seqLen: 16,
      batchSize: 3,
      baseDir: dir,
      valFraction: 0,
    });
    await loader.next();
    const saved = JSON.parse(JSON.stringify(loader.state()));
    expect(parseLoaderState(saved)).toEqual(loader.state());
    saved.windowStart.document.sources[0].offset = -5;
    await expect(collect({ resumeFrom: saved })).rejects.toThrow(
      /windowStart\.document\.sources\[0\]\.offset must be a non-negative integer, got -5/,
    );
    expect(() => parseLoaderState({ version: 2 })).toThrow(/version must be 1, got 2/);
    expect(() => parseLoaderState(null)).toThrow(/state must be an object/);
  });

  it('refuses a state saved with different settings', async () => {
    const loader = await createLoader({
      mixture: textMixture,
      tokenizer: byteTokenizer,
      seqLen: 16,
      batchSize: 3,
      baseDir: dir,
      valFraction: 0,
    });
    await loader.next();
    await expect(collect({ seqLen: 32, resumeFrom: loader.state() })).rejects.toThrow(
      /resumeFrom\.seqLen is 16 but the loader has 32/,
    );
  });
});

describe('DocumentStream', () => {
  async function allDocs(mixture: MixtureConfig, split: 'train' | 'validation', valFraction: number, n = Infinity) {
    const s = await DocumentStream.open(mixture, { baseDir: dir, seed: 1, split, valFraction });
    const out: string[] = [];
    for (let d = await s.next(); d !== null && out.length < n; d = await s.next()) out.push(d as string);
    await s.close();
    return out;
  }

  it('splits train and validation by document hash: disjoint, complete, deterministic', async () => {
    const train = await allDocs(textMixture, 'train', 0.25);
    const val = await allDocs(textMixture, 'validation', 0.25);
    expect(val.length).toBeGreaterThan(0);
    expect(train.filter((d) => val.includes(d))).toEqual([]);
    expect([...train, ...val].sort()).toEqual([...docs].sort());
    expect(await allDocs(textMixture, 'validation', 0.25)).toEqual(val);
  });

  it('samples sources in proportion to weight, and only from the rest once one is exhausted', async () => {
    const mixture: MixtureConfig = {
      sources: [
        { name: 'a', type: 'jsonl', path: 'a.jsonl', weight: 3 },
        { name: 'b', type: 'jsonl', path: 'b.jsonl', weight: 1 },
      ],
    };
    const drawn = await allDocs(mixture, 'train', 0, 4000);
    const fracA = drawn.filter((d) => d.startsWith('A')).length / drawn.length;
    // Binomial(4000, 0.75): sd ≈ 0.0068; 6 sd.
    expect(Math.abs(fracA - 0.75)).toBeLessThan(0.041);

    const limited: MixtureConfig = {
      sources: [
        { name: 'a', type: 'jsonl', path: 'a.jsonl', weight: 100, epochs: 0.5 },
        { name: 'b', type: 'jsonl', path: 'b.jsonl', weight: 1, epochs: 1 },
      ],
    };
    const all = await allDocs(limited, 'train', 0);
    const a = all.filter((d) => d.startsWith('A'));
    // Half the bytes of a.jsonl ≈ its first 25 documents; every document of b comes once, at the end mostly.
    expect(a).toEqual(Array.from({ length: a.length }, (_, i) => `A${i}`));
    expect(Math.abs(a.length - 25)).toBeLessThanOrEqual(1);
    expect(all.filter((d) => d.startsWith('B'))).toEqual(Array.from({ length: 50 }, (_, i) => `B${i}`));
  });
});
