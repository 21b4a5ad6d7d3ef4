import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus } from '../test/corpus.js';
import { hasLlama2Model, llama2ModelPath, loadReference, type ReferenceProcessor } from '../test/reference.js';
import { parseTokenizerJson } from './hf-tokenizer.js';
import { tokenizerFromBytes } from './load.js';
import type { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';
import { trainBpe } from './train-bpe.js';
import { toWellFormed } from './utf8.js';

// Strings of any code points, lone surrogates included ('binary' draws surrogate halves too), and strings dense in
// spaces and U+2581 (▁), the meta symbol SentencePiece writes spaces as.
const spacesAndMeta = fc.string({ unit: fc.constantFrom(' ', '\u2581', 'a', 'é', '\uD800', '\n'), maxLength: 12 });
const anyString = fc.oneof({ arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 4 }, spacesAndMeta);
const wellFormedString = fc.string({ unit: 'binary', maxLength: 200 }).map(toWellFormed);
// Long runs without spaces exercise the heap path (more than 48 symbols in one chunk).
const longNoSpace = fc.string({ unit: fc.constantFrom(...'abcdeéñ01\u4e2d😀\t'), minLength: 49, maxLength: 400 });

/** What a SentencePiece round trip gives back for `s`. */
function asDecoded(s: string): string {
  return toWellFormed(s).replaceAll('\u2581', ' ');
}

function roundTrips(tok: Tokenizer, numRuns = 400): void {
  fc.assert(
    fc.property(anyString, (s) => {
      const ids = tok.encode(s, { bos: true, eos: true });
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)).toBe(true);
      // Lone surrogates become U+FFFD, like TextEncoder, and a ▁ in the text comes back as a space (pieces spell
      // spaces as ▁, so google's sentencepiece cannot tell them apart either); nothing else changes.
      expect(tok.decode(ids)).toBe(asDecoded(s));
    }),
    { numRuns },
  );
}

describe.skipIf(!hasLlama2Model)('robustness on the LLaMA 2 model', () => {
  let tok: SentencePieceTokenizer;
  let ref: ReferenceProcessor;
  let bytes: Uint8Array;
  beforeAll(async () => {
    bytes = new Uint8Array(readFileSync(llama2ModelPath));
    tok = tokenizerFromBytes(bytes) as SentencePieceTokenizer;
    ref = await loadReference(llama2ModelPath);
  });

  it('encode never throws and decode(encode(s)) gives s back (lone surrogates → U+FFFD)', () => {
    roundTrips(tok);
    expect(tok.decode(tok.encode('a\uD800b'))).toBe('a\uFFFDb');
    // The round trip of text holding ▁ is google's own.
    for (const s of ['\u2581', '\u2581a', ' \u2581 b', 'a\u2581\u2581b\u2581', '\u2581\u2581 ']) {
      expect(tok.decode(tok.encode(s))).toBe(ref.decodeIds(ref.encodeIds(s)));
      expect(tok.decode(tok.encode(s))).toBe(asDecoded(s));
    }
  });

  it('ids equal google sentencepiece on arbitrary well-formed strings and long no-space runs', () => {
    fc.assert(
      fc.property(fc.oneof(wellFormedString, longNoSpace), (s) => {
        expect(tok.encode(s)).toEqual(ref.encodeIds(s));
      }),
      { numRuns: 400 },
    );
  });

  it('decodes arbitrary byte-fallback sequences exactly like sentencepiece (one U+FFFD per bad byte)', () => {
    const byteId = fc.integer({ min: 3, max: 258 });
    const someId = fc.oneof(byteId, byteId, byteId, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 31999 }));
    fc.assert(
      fc.property(fc.array(someId, { maxLength: 40 }), (ids) => {
        expect(tok.decode(ids)).toBe(ref.decodeIds(ids));
      }),
      { numRuns: 400 },
    );
    // A skipped control token between a lead byte and its continuation ends the sequence (fast-check found this).
    for (const ids of [
      [197, 1, 131],
      [230, 2, 131, 150],
      [197, 0, 131],
    ])
      expect(tok.decode(ids)).toBe(ref.decodeIds(ids));
  });

  it('a truncated or corrupted model throws an Error that says where', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (cut) => {
        expect(() => tokenizerFromBytes(bytes.subarray(0, cut), 'cut.model')).toThrow(/cut\.model/);
      }),
      { numRuns: 25 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const bad = bytes.slice(0, 4000);
        bad[at] = value;
        try {
          tokenizerFromBytes(bad, 'bad.model');
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          expect((err as Error).message).toMatch(/bad\.model/);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('the converted tokenizer.json round-trips arbitrary strings too', () => {
    roundTrips(parseTokenizerJson(tok.toTokenizerJson()), 150);
  });
});

describe('robustness of trained models', () => {
  it('encode/decode round-trip for arbitrary strings, with and without byte fallback', async () => {
    const corpus = generateCorpus(3, 150);
    roundTrips(await trainBpe(corpus, { vocabSize: 800 }), 200);
    const noFallback = await trainBpe(corpus, { vocabSize: 2000, byteFallback: false });
    fc.assert(
      fc.property(anyString, (s) => {
        const ids = noFallback.encode(s);
        // Without byte fallback unseen characters become <unk>; everything else survives.
        expect(ids.every((id) => id >= 0 && id < noFallback.vocabSize)).toBe(true);
        const back = noFallback.decode(ids);
        if (!ids.includes(noFallback.unkId)) expect(back).toBe(asDecoded(s));
      }),
      { numRuns: 200 },
    );
  });
});
