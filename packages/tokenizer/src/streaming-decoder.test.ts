import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus } from '../test/corpus.js';
import { hasLlama2Model, llama2ModelPath } from '../test/reference.js';
import { parseTokenizerJson } from './hf-tokenizer.js';
import { loadTokenizer } from './load.js';
import type { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';

describe.skipIf(!hasLlama2Model)('StreamingDecoder on LLaMA 2', () => {
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer(llama2ModelPath);
  });

  it('holds byte-fallback sequences until the character is complete', () => {
    const ids = tok.encode('a😀b'); // ▁a <0xF0> <0x9F> <0x98> <0x80> b
    const dec = tok.streamingDecoder();
    const outs = ids.map((id) => dec.push(id));
    expect(outs).toEqual(['a', '', '', '', '😀', 'b']);
    expect(dec.flush()).toBe('');
  });

  it('applies the leading-space rule once, after skipped control tokens', () => {
    const dec = tok.streamingDecoder();
    expect([1, 15043, 3186].map((id) => dec.push(id)).join('')).toBe('Hello world');
  });

  it('flushes an incomplete byte sequence as U+FFFD per byte, like decode', () => {
    const dec = tok.streamingDecoder();
    expect([243, 162].map((id) => dec.push(id)).join('') + dec.flush()).toBe(tok.decode([243, 162]));
  });

  it('concatenated output equals decode() for generated text and random id sequences', () => {
    for (const d of generateCorpus(5, 200)) {
      const ids = tok.encode(d, { bos: true, eos: true });
      const dec = tok.streamingDecoder();
      expect(ids.map((id) => dec.push(id)).join('') + dec.flush()).toBe(tok.decode(ids));
    }
    // Byte-fallback ids (3–258) and control ids (0–2) dense, so skipped tokens land inside byte sequences.
    const someId = fc.oneof(fc.integer({ min: 0, max: 31999 }), fc.integer({ min: 0, max: 258 }));
    fc.assert(
      fc.property(fc.array(someId, { maxLength: 60 }), (ids) => {
        const dec = tok.streamingDecoder();
        return ids.map((id) => dec.push(id)).join('') + dec.flush() === tok.decode(ids);
      }),
      { numRuns: 300 },
    );
  });

  it('a skipped control token ends an incomplete byte sequence (google), a tokenizer.json one does not (Hugging Face)', async () => {
    // <0xC2> <s> <0x80>: google's sentencepiece decodes two U+FFFD; Hugging Face drops <s> first and joins U+0080.
    const ids = [197, 1, 131];
    const dec = tok.streamingDecoder();
    expect(ids.map((id) => dec.push(id))).toEqual(['', '\uFFFD', '\uFFFD']);
    expect(dec.flush()).toBe('');
    expect(tok.decode(ids)).toBe('\uFFFD\uFFFD');
    const hf = parseTokenizerJson((tok as SentencePieceTokenizer).toTokenizerJson());
    expect(hf.decode(ids)).toBe('\u0080');
    const hfDec = hf.streamingDecoder();
    expect(ids.map((id) => hfDec.push(id)).join('') + hfDec.flush()).toBe('\u0080');
    // Kept, the token's text sits between the bytes either way.
    expect(tok.decode(ids, { skipSpecialTokens: false })).toBe('\uFFFD<s>\uFFFD');
  });
});
