// Model features LLaMA 2 does not use (user-defined and unused pieces, remove_extra_whitespaces,
// no byte fallback), checked against google's sentencepiece on models derived from a trained one.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus } from '../test/corpus.js';
import { loadReference } from '../test/reference.js';
import { PieceType, serializeModelProto } from './model-proto.js';
import { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
import { trainBpe } from './train-bpe.js';

describe('SentencePiece features vs google sentencepiece', () => {
  let base: SentencePieceTokenizer;
  const dir = mkdtempSync(join(tmpdir(), 'andes-sp-'));
  beforeAll(async () => {
    base = await trainBpe(generateCorpus(77, 300), { vocabSize: 1000 });
  });

  async function compare(name: string, edit: (t: SentencePieceTokenizer) => SentencePieceTokenizer) {
    const tok = edit(base);
    const path = join(dir, `${name}.model`);
    writeFileSync(path, tok.toModelProto());
    const ref = await loadReference(path);
    const texts = [
      ...generateCorpus(5, 300),
      '  many   spaces   here  ',
      '<tag>x<tag><tag>',
      'a<tag>b user<tag> defined',
      '   ',
      '',
      'ABBA  Bob\tAB AAAA',
    ];
    for (const t of texts) {
      expect(tok.encode(t), `${name}: ${JSON.stringify(t)}`).toEqual(ref.encodeIds(t));
      const ids = tok.encode(t);
      expect(tok.decode(ids), `${name} decode: ${JSON.stringify(t)}`).toBe(ref.decodeIds(ids));
    }
  }

  const clone = (t: SentencePieceTokenizer) => structuredClone(t.model);

  it('user-defined pieces are matched first and never merged', async () => {
    await compare('user-defined', (t) => {
      const m = clone(t);
      m.pieces.push({ piece: '<tag>', score: 0, type: PieceType.userDefined });
      m.pieces.push({ piece: 'user', score: 0, type: PieceType.userDefined });
      m.trainerSpec.vocabSize = m.pieces.length;
      m.raw = {};
      return new SentencePieceTokenizer(m);
    });
  });

  it('remove_extra_whitespaces collapses and trims spaces', async () => {
    await compare('extra-ws', (t) => {
      const m = clone(t);
      m.normalizerSpec.removeExtraWhitespaces = true;
      m.raw = {};
      return new SentencePieceTokenizer(m);
    });
  });

  it('UNUSED pieces are re-split into their parts', async () => {
    await compare('unused', (t) => {
      const m = clone(t);
      let marked = 0;
      m.pieces.forEach((p, i) => {
        if (p.type === PieceType.normal && p.piece.length >= 3 && i % 7 === 0 && marked < 40) {
          p.type = PieceType.unused;
          marked++;
        }
      });
      m.raw = {};
      return new SentencePieceTokenizer(m);
    });
  });

  it('without byte fallback unknown runs become one <unk>', async () => {
    await compare('no-fallback', (t) => {
      const m = clone(t);
      // sentencepiece refuses BYTE pieces when byte_fallback is off.
      m.pieces = m.pieces.filter((p) => p.type !== PieceType.byte);
      m.trainerSpec.byteFallback = false;
      m.trainerSpec.vocabSize = m.pieces.length;
      m.raw = {};
      return new SentencePieceTokenizer(m);
    });
  });

  it('a precompiled charsmap (darts-clone trie) normalises like sentencepiece', async () => {
    // Hand-built double array: 'A' → 'a' and 'B' → 'bb'. Root offset 1; 'A' lands on unit 0x40
    // (label 0x41, leaf, offset 1 → value unit 0x41), 'B' on 0x43 (offset 0x10 → value unit 0x53).
    const units = new Uint32Array(0x60);
    units[0] = 1 << 10;
    units[0x40] = 0x41 | 0x100 | (1 << 10);
    units[0x41] = 0x80000000 | 0;
    units[0x43] = 0x42 | 0x100 | (0x10 << 10);
    units[0x53] = 0x80000000 | 2;
    const strings = new TextEncoder().encode('a\0bb\0');
    const blob = new Uint8Array(4 + units.byteLength + strings.length);
    new DataView(blob.buffer).setUint32(0, units.byteLength, true);
    blob.set(new Uint8Array(units.buffer), 4);
    blob.set(strings, 4 + units.byteLength);
    await compare('charsmap', (t) => {
      const m = clone(t);
      m.normalizerSpec.name = 'custom';
      m.normalizerSpec.precompiledCharsmap = blob;
      m.raw = {};
      return new SentencePieceTokenizer(m);
    });
    const m = clone(base);
    m.normalizerSpec.precompiledCharsmap = blob;
    m.raw = {};
    expect(new SentencePieceTokenizer(m).normalize('ABC Ab')).toBe('\u2581abbC\u2581ab');
  });

  it('serialises edited models readably', () => {
    const m = clone(base);
    m.raw = {};
    expect(SentencePieceTokenizer.fromBytes(serializeModelProto(m)).encode('hello there')).toEqual(
      base.encode('hello there'),
    );
  });
});
