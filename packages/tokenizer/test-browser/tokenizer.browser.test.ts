// The core runs in a browser: no Node built-ins are touched when working from bytes.
import { describe, expect, it } from 'vitest';
import { applyChatTemplate, loadTokenizer, parseTokenizerJson, trainBpe } from '../src/index.js';

describe('@andes/tokenizer in a browser', () => {
  it('trains, serialises, reloads from bytes, encodes, decodes and streams', async () => {
    const corpus = ['Hello world, hello tokenizer.', 'Le café est très bon 12345 ☕', '你好世界 😀 done'];
    const tok = await trainBpe(corpus, { vocabSize: 400 });
    const reloaded = await loadTokenizer(tok.toModelProto());
    const text = 'hello café 😀 new words ünïcödé';
    const ids = reloaded.encode(text, { bos: true });
    expect(ids).toEqual(tok.encode(text, { bos: true }));
    expect(reloaded.decode(ids)).toBe(text);
    const dec = reloaded.streamingDecoder();
    expect(ids.map((id) => dec.push(id)).join('') + dec.flush()).toBe(text);
    const hf = parseTokenizerJson(tok.toTokenizerJson());
    expect(hf.encode(text)).toEqual(tok.encode(text));
    const chat = applyChatTemplate(reloaded, [{ role: 'user', content: 'hi' }], 'llama-2');
    expect(chat[0]).toBe(reloaded.bosId);
  });
});
