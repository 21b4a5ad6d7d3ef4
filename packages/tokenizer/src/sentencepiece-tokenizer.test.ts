import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus, rng } from '../test/corpus.js';
import { hasLlama2Model, llama2ModelPath, loadReference, type ReferenceProcessor } from '../test/reference.js';
import { loadTokenizer } from './load.js';
import { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';

describe.skipIf(!hasLlama2Model)('SentencePieceTokenizer on the LLaMA 2 model vs google sentencepiece (WASM)', () => {
  let tok: SentencePieceTokenizer;
  let ref: ReferenceProcessor;
  beforeAll(async () => {
    tok = (await loadTokenizer(llama2ModelPath)) as SentencePieceTokenizer;
    ref = await loadReference(llama2ModelPath);
  });

  it('reads the model header', () => {
    expect([tok.vocabSize, tok.unkId, tok.bosId, tok.eosId, tok.padId]).toEqual([32000, 0, 1, 2, -1]);
    expect(tok.idToPiece(15043)).toBe('▁Hello');
    expect(tok.pieceToId('▁the')).toBe(278);
    expect(tok.pieceToId('<0x0A>')).toBe(13);
    expect(tok.pieceToId('no such piece')).toBe(-1);
  });

  it('encodes the documented example', () => {
    expect(tok.encode('Hello world', { bos: true })).toEqual([1, 15043, 3186]);
    expect(tok.encode('Hello world', { bos: true, eos: true })).toEqual([1, 15043, 3186, 2]);
    expect(tok.decode([1, 15043, 3186])).toBe('Hello world');
    expect(tok.decode([1, 15043, 3186], { skipSpecialTokens: false })).toBe('<s>Hello world');
  });

  it('matches the reference ids on 3000 generated documents', () => {
    const docs = generateCorpus(1234, 3000);
    let mismatches = 0;
    const firstBad: string[] = [];
    for (const d of docs) {
      const want = ref.encodeIds(d);
      const got = tok.encode(d);
      if (JSON.stringify(want) !== JSON.stringify(got)) {
        mismatches++;
        if (firstBad.length < 3) firstBad.push(JSON.stringify(d));
      }
    }
    expect(firstBad).toEqual([]);
    expect(mismatches).toBe(0);
  });

  it('matches the reference on edge cases', () => {
    const cases = [
      '',
      ' ',
      '  ',
      '\n',
      'a',
      ' a',
      'a ',
      '  leading',
      'trailing  ',
      '\t\ttabs',
      '1234567890',
      '▁',
      '▁▁x',
      'x'.repeat(5000),
      ' '.repeat(300),
      '😀'.repeat(100),
      'e\u0301\u0301\u0301',
      '\u0000\u0001',
      '<s>hi</s>',
      '<unk>',
      '\uFEFFbom',
      'x\uFEFF',
      'abc'.repeat(700) + ' ' + '12 34'.repeat(50),
    ];
    for (const c of cases) expect(tok.encode(c), JSON.stringify(c)).toEqual(ref.encodeIds(c));
  });

  it('matches the reference on long runs without spaces (heap and bucket merge paths)', () => {
    const r = rng(17);
    const alphabets = ['etaoinshrdlu', 'ab', 'aaaaaaab', '0123456789', '日本語のテキスト', 'éè😀👍🏽\u200d'];
    for (const alphabet of alphabets) {
      const chars = Array.from(alphabet);
      for (const n of [60, 900, 1500, 6000]) {
        let s = '';
        for (let i = 0; i < n; i++) s += chars[Math.floor(r() * r() * chars.length)];
        expect(tok.encode(s), `${alphabet} × ${n}`).toEqual(ref.encodeIds(s));
      }
    }
  });

  it('decodes like the reference, including byte runs and the first-piece space rule', () => {
    const idLists = [
      [29871, 15043],
      [1, 29871, 15043],
      [12, 921],
      [35, 921],
      [0, 921],
      [921, 0, 0],
      [243, 162, 155],
      [243, 162, 155, 921],
      [2, 1, 29871],
      [259, 29871],
      [259],
    ];
    for (const ids of idLists) expect(tok.decode(ids), JSON.stringify(ids)).toBe(ref.decodeIds(ids));
    const docs = generateCorpus(99, 300);
    for (const d of docs) {
      const ids = ref.encodeIds(d);
      expect(tok.decode(ids)).toBe(ref.decodeIds(ids));
    }
  });

  it('round-trips the model bytes exactly', () => {
    const bytes = new Uint8Array(readFileSync(llama2ModelPath));
    expect(Buffer.from(tok.toModelProto()).equals(Buffer.from(bytes))).toBe(true);
    expect(SentencePieceTokenizer.fromBytes(bytes).encode('same model')).toEqual(tok.encode('same model'));
  });
});
