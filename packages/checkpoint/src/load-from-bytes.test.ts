import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setBackend } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModel, tinyTokenizer } from '../test/tiny-model.js';
import { loadGgufModel, loadGgufModelBytes, saveGgufModel } from './gguf-model.js';
import { loadLlama2cModel, loadLlama2cModelBytes, saveLlama2cModel } from './llama2c-model.js';
import type { LoadedModel } from './loaded-model.js';

// The in-memory loaders (a file picked in a browser) read exactly what the path loaders read.
let dir: string;
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'andes-from-bytes-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function expectSame(a: LoadedModel, b: LoadedModel): void {
  expect(a.config).toEqual(b.config);
  expect([...a.tensors.keys()]).toEqual([...b.tensors.keys()]);
  for (const [name, t] of a.tensors) expect(t.data, name).toEqual(b.tensors.get(name)!.data);
  expect(a.tokenizer?.vocabSize).toBe(b.tokenizer?.vocabSize);
  const text = 'Once upon a time the robot';
  expect(Array.from(a.tokenizer!.encode(text, { bos: true }))).toEqual(
    Array.from(b.tokenizer!.encode(text, { bos: true })),
  );
}

describe('loading from bytes', () => {
  it('a Q4_0 GGUF held in memory loads as from its path', async () => {
    const tokenizer = await tinyTokenizer();
    const model = tinyModel(tokenizer.vocabSize);
    const path = join(dir, 'tiny.q4_0.gguf');
    await saveGgufModel(path, { config: model.config, model, tokenizer, dtype: 'q4_0' });
    const bytes = new Uint8Array(await readFile(path));
    expectSame(await loadGgufModelBytes('tiny.q4_0.gguf', bytes), await loadGgufModel(path));
    // A truncated file names itself and says so.
    await expect(loadGgufModelBytes('cut.gguf', bytes.subarray(0, bytes.byteLength - 100))).rejects.toThrow(
      /cut\.gguf: .*truncated/,
    );
  });

  it('a llama2.c .bin and its tokenizer.bin held in memory load as from their paths', async () => {
    const tokenizer = await tinyTokenizer();
    const model = tinyModel(tokenizer.vocabSize);
    const path = join(dir, 'model.bin');
    await saveLlama2cModel(path, { config: model.config, model, tokenizer });
    const bytes = new Uint8Array(await readFile(path));
    const tokenizerBin = new Uint8Array(await readFile(join(dir, 'tokenizer.bin')));
    expectSame(await loadLlama2cModelBytes('model.bin', bytes, { tokenizerBin }), await loadLlama2cModel(path));
    await expect(loadLlama2cModelBytes('cut.bin', bytes.subarray(0, 1000))).rejects.toThrow(/cut\.bin: /);
  });
});
