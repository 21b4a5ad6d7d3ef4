import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus } from '../test/corpus.js';
import { hasLlama2Model, llama2ModelPath } from '../test/reference.js';
import { loadTokenizer } from './load.js';
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
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 31999 }), { maxLength: 60 }), (ids) => {
        const dec = tok.streamingDecoder();
        return ids.map((id) => dec.push(id)).join('') + dec.flush() === tok.decode(ids);
      }),
      { numRuns: 300 },
    );
  });
});
