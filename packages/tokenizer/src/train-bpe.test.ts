import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCorpus } from '../test/corpus.js';
import { loadReference } from '../test/reference.js';
import { loadTokenizer } from './load.js';
import { trainBpe } from './train-bpe.js';
import { forEachTrainingWord } from './train-words.js';

describe('training words', () => {
  it('splits at spaces, scripts, digits and line breaks', () => {
    const words: string[] = [];
    forEachTrainingWord('▁Hello,▁world▁▁▁x12\nab▁', true, (w) => words.push(w));
    expect(words).toEqual(['▁Hello', ',', '▁world', '▁▁', '▁x', '1', '2', '\n', 'ab', '▁']);
  });
});

describe('trainBpe', () => {
  const corpus = generateCorpus(42, 400);

  it('learns a model google sentencepiece loads and encodes exactly as we do', async () => {
    const tok = await trainBpe(corpus, {
      vocabSize: 1200,
      byteFallback: true,
      splitDigits: true,
      specialTokens: ['<|im_start|>'],
    });
    expect(tok.vocabSize).toBe(1200);
    expect(tok.pieceToId('<|im_start|>')).toBe(3);
    expect(tok.pieceToId('<0x00>')).toBe(4);
    const dir = mkdtempSync(join(tmpdir(), 'andes-tok-'));
    await tok.save(join(dir, 'tokenizer.model'), writeFile);
    const ref = await loadReference(join(dir, 'tokenizer.model'));
    for (const d of [...generateCorpus(7, 400), 'x'.repeat(3000), '   indented\n\tcode 12345']) {
      expect(tok.encode(d), JSON.stringify(d)).toEqual(ref.encodeIds(d));
      expect(tok.decode(tok.encode(d))).toBe(d);
    }
    const reloaded = await loadTokenizer(join(dir, 'tokenizer.model'));
    expect(reloaded.encode(corpus[0]!)).toEqual(tok.encode(corpus[0]!));
    await tok.save(join(dir, 'tokenizer.json'), writeFile);
    const fromJson = await loadTokenizer(join(dir, 'tokenizer.json'));
    expect(fromJson.kind).toBe('hf-bpe');
    for (const d of generateCorpus(8, 200))
      expect(fromJson.encode(d, { bos: true })).toEqual(tok.encode(d, { bos: true }));
  });

  it('is deterministic, honours splitDigits and accepts async iterables and file paths', async () => {
    async function* gen() {
      yield* corpus;
    }
    const a = await trainBpe(corpus, { vocabSize: 600 });
    const b = await trainBpe(gen(), { vocabSize: 600 });
    expect(Buffer.from(a.toModelProto()).equals(Buffer.from(b.toModelProto()))).toBe(true);
    for (let id = 259; id < a.vocabSize; id++) expect(a.idToPiece(id)).not.toMatch(/\d\d|\u2581\d|[^\u2581]\u2581/);
    const dir = mkdtempSync(join(tmpdir(), 'andes-tok-'));
    writeFileSync(join(dir, 'a.txt'), corpus.slice(0, 200).join('\n'));
    writeFileSync(join(dir, 'b.txt'), corpus.slice(200).join('\n'));
    const c = await trainBpe([join(dir, 'a.txt'), join(dir, 'b.txt')], { vocabSize: 600, inputIsFilePaths: true });
    expect(c.vocabSize).toBe(600);
    expect(readFileSync(join(dir, 'a.txt')).length).toBeGreaterThan(0);
  });

  it('without byte fallback, unknown characters become one <unk> per run', async () => {
    const tok = await trainBpe(['aaa bbb ab ba'], { vocabSize: 12, byteFallback: false });
    expect(tok.encode('ab zzz')).toEqual([...tok.encode('ab'), tok.pieceToId('▁'), tok.unkId]);
  });

  it('explains a vocabulary that is too small', async () => {
    await expect(trainBpe(['hello'], { vocabSize: 100 })).rejects.toThrow(/vocabSize 100 is too small: 259 fixed/);
  });
});
