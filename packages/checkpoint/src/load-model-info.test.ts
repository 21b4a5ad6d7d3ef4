import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RopeLayout } from '@andes/nn';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { tinyGgufSetup, tinyModel } from '../test/tiny-model.js';
import { GgufFile } from './gguf-file.js';
import { loadModel, loadModelInfo, saveModel } from './load-model.js';
import type { LoadedModel, ModelInfo } from './loaded-model.js';

// The reference is the full load of the same files: the info load must return its config (for either rotary
// layout), tokenizer, chat template and generation config, and read none of the tensor data. Reads through file
// handles (how every loader reads weights) are recorded; the full load is the control that they are seen.
const tiny = tinyGgufSetup('load-model-info');
const text = 'The little robot sang\nabout the sea, 42 times.';

// Wide MLP (2 × 64 × 2112 × 3 floats ≈ 3.2 MB): the GGUF file is larger than the 1 MiB its header is read in.
const model = () => tinyModel(tiny.tokenizer.vocabSize, { intermediate_size: 2112, tie_word_embeddings: false }, 5);
const paths: Record<string, string> = {};

beforeAll(async () => {
  const m = model();
  paths.gguf = join(tiny.dir, 'wide.gguf');
  paths.llama2c = join(tiny.dir, 'wide.bin');
  paths.hf = join(tiny.dir, 'wide-hf');
  for (const path of Object.values(paths)) {
    await saveModel(path, { config: m.config, model: m, tokenizer: tiny.tokenizer, chatTemplate: 'chatml' });
  }
  m.dispose();
}, 60_000);

afterEach(() => vi.restoreAllMocks());

/** Runs `load` with every `FileHandle.read` recorded as [position, bytes read]. */
async function recordingReads<T>(load: () => Promise<T>): Promise<{ value: T; reads: [number, number][] }> {
  const probe = await open(paths.gguf!, 'r');
  const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<{ bytesRead: number }> };
  await probe.close();
  const reads: [number, number][] = [];
  const read = proto.read;
  vi.spyOn(proto, 'read').mockImplementation(async function (this: unknown, ...args: unknown[]) {
    const r = await read.apply(this, args);
    reads.push([Number(args[3] ?? -1), r.bytesRead]);
    return r;
  });
  const value = await load();
  vi.restoreAllMocks();
  return { value, reads };
}

/** Where the tensor data of `format`'s file starts (llama2.c: after the 28-byte legacy header). */
async function dataStart(format: string): Promise<number> {
  if (format === 'gguf') {
    const file = await GgufFile.open(paths.gguf!);
    await file.close();
    return file.header.dataOffset;
  }
  return format === 'llama2c' ? 28 : 0;
}

function expectSameInfo(info: ModelInfo, full: LoadedModel): void {
  expect(info.format).toBe(full.format);
  expect(info.config).toEqual(full.config);
  expect(info.chatTemplate).toBe(full.chatTemplate);
  expect(info.generationConfig).toEqual(full.generationConfig);
  expect(info.tokenizer?.vocabSize).toBe(full.tokenizer?.vocabSize);
  expect(info.tokenizer?.encode(text, { bos: true })).toEqual(full.tokenizer?.encode(text, { bos: true }));
  expect(Object.keys(info).sort()).not.toContain('tensors');
}

describe('loadModelInfo', () => {
  for (const format of ['gguf', 'llama2c', 'hf']) {
    it(`${format}: the full load's config, tokenizer and template, reading no tensor data`, async () => {
      const path = paths[format]!;
      const start = await dataStart(format);
      for (const ropeLayout of ['half', 'interleaved'] as RopeLayout[]) {
        const full = await recordingReads(() => loadModel(path, { ropeLayout }));
        const info = await recordingReads(() => loadModelInfo(path, { ropeLayout }));
        expectSameInfo(info.value, full.value);
        expect(info.value.config.rope_style).toBe(ropeLayout);
        // Control: the full load reads every tensor through file handles, past the data's start.
        const tensorBytes = [...full.value.tensors.values()].reduce((n, t) => n + 4 * t.data.length, 0);
        expect(full.reads.reduce((n, [, b]) => n + b, 0)).toBeGreaterThanOrEqual(tensorBytes);
        expect(full.reads.some(([at, b]) => at > start && b > 0)).toBe(true);
        // The info load: no read starts inside the data, and (GGUF) the header chunk is under the file's size.
        expect(info.reads.filter(([at]) => at > start)).toEqual([]);
        const bytes = info.reads.reduce((n, [, b]) => n + b, 0);
        if (format === 'gguf') expect(bytes).toBeLessThan((await stat(path)).size / 2);
        else if (format === 'llama2c') expect(bytes).toBeLessThanOrEqual(64);
        else expect(info.reads).toEqual([]); // safetensors files are read through handles; JSON and tokenizer not
      }
      expect(tiny.tokenizer.vocabSize).toBeGreaterThan(100);
    }, 30_000);
  }

  it('skips the tokenizer when asked, and names the file that is not a model', async () => {
    const info = await loadModelInfo(paths.gguf!, { skipTokenizer: true });
    expect(info.tokenizer).toBeUndefined();
    expect(info.config.vocab_size).toBe(tiny.tokenizer.vocabSize);
    await expect(loadModelInfo(join(tiny.dir, 'missing-dir'))).rejects.toThrow(/missing-dir.*config\.json/);
    await expect(loadModelInfo(join(tiny.dir, 'missing.gguf'))).rejects.toThrow(/missing\.gguf/);
  });
});
