import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dequantize, quantize, seededUniform } from '@andes/tensor';
import { GGUFValueType, gguf, serializeGgufMetadata } from '@huggingface/gguf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GgufFile, parseGgufHeader } from './gguf-file.js';
import type { GgufValue } from './gguf-metadata.js';
import { writeGguf } from './gguf-writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'andes-gguf-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const rng = seededUniform(3);
const randn = (n: number) => Float32Array.from({ length: n }, () => (rng() - 0.5) * 4);

/** One value of every GGUF type, including nested arrays, extremes and non-ASCII strings. */
const everyType: Record<string, GgufValue> = {
  'test.u8': { type: 'u8', value: 255 },
  'test.i8': { type: 'i8', value: -128 },
  'test.u16': { type: 'u16', value: 65535 },
  'test.i16': { type: 'i16', value: -32768 },
  'test.u32': { type: 'u32', value: 4294967295 },
  'test.i32': { type: 'i32', value: -2147483648 },
  'test.f32': { type: 'f32', value: Math.fround(-1.2345678e-20) },
  'test.bool': { type: 'bool', value: true },
  'test.string': { type: 'string', value: 'héllo ▁wörld 🦙' },
  'test.u64': { type: 'u64', value: 18446744073709551615n },
  'test.i64': { type: 'i64', value: -9223372036854775808n },
  'test.f64': { type: 'f64', value: Math.PI },
  'test.empty': { type: 'array', itemType: 'i32', value: [] },
  'test.strings': { type: 'array', itemType: 'string', value: ['a', '', '<0x0A>', '▁the'] },
  'test.nested': {
    type: 'array',
    itemType: 'array',
    value: [
      { type: 'array', itemType: 'u8', value: [1, 2, 3] },
      { type: 'array', itemType: 'string', value: ['x'] },
    ],
  },
};

describe('GGUF files', () => {
  it('writes every metadata type and tensor type and reads them back exactly, tensor by tensor', async () => {
    const path = join(dir, 'all.gguf');
    const w = randn(3 * 64);
    const tensors = [
      { name: 'f32', shape: [5], type: 'F32' as const, bytes: quantize('F32', randn(5)) },
      { name: 'f16', shape: [2, 3], type: 'F16' as const, bytes: quantize('F16', randn(6)) },
      { name: 'bf16', shape: [7], type: 'BF16' as const, bytes: quantize('BF16', randn(7)) },
      { name: 'q8', shape: [3, 64], type: 'Q8_0' as const, bytes: quantize('Q8_0', w) },
      { name: 'q4', shape: [3, 64], type: 'Q4_0' as const, bytes: quantize('Q4_0', w) },
    ];
    await writeGguf(path, {
      metadata: everyType,
      tensors: tensors.map((t) => ({ ...t, data: () => t.bytes })),
      alignment: 64,
    });
    const file = await GgufFile.open(path);
    try {
      const { metadata, tensors: infos, alignment, version } = file.header;
      expect(version).toBe(3);
      expect(alignment).toBe(64);
      for (const [k, v] of Object.entries(everyType)) expect(metadata.get(k)).toEqual(v);
      expect(infos.map((t) => [t.name, t.shape, t.type])).toEqual(tensors.map((t) => [t.name, t.shape, t.type]));
      for (const [i, t] of tensors.entries()) {
        expect(infos[i]!.offset % 64).toBe(0);
        expect(await file.tensorBytes(infos[i]!)).toEqual(t.bytes);
      }
    } finally {
      await file.close();
    }
  });

  it('@huggingface/gguf (an independent reader) parses our metadata and tensor infos', async () => {
    const path = join(dir, 'peer.gguf');
    await writeGguf(path, {
      metadata: everyType,
      tensors: [
        { name: 'blk.0.w', shape: [4, 32], type: 'Q4_0', data: () => quantize('Q4_0', randn(128)) },
        { name: 'norm', shape: [9], type: 'F32', data: () => quantize('F32', randn(9)) },
      ],
    });
    const parsed = await gguf(path, { allowLocalFile: true });
    const { tensorInfos } = parsed;
    const metadata = parsed.metadata as unknown as Record<string, unknown>;
    expect(metadata['test.string']).toBe('héllo ▁wörld 🦙');
    expect(metadata['test.u64']).toBe(18446744073709551615n);
    expect(metadata['test.i8']).toBe(-128);
    expect(metadata['test.f32']).toBe(Math.fround(-1.2345678e-20));
    expect(metadata['test.strings']).toEqual(['a', '', '<0x0A>', '▁the']);
    expect(metadata['test.nested']).toEqual([[1, 2, 3], ['x']]);
    expect(metadata.version).toBe(3);
    expect(tensorInfos.map((t) => [t.name, t.shape.map(Number), t.dtype, Number(t.offset)])).toEqual([
      ['blk.0.w', [32, 4], 2, 0], // dims innermost first
      ['norm', [9], 0, 96], // 4·18 = 72 bytes padded to 96
    ]);
  });

  it('reads a header @huggingface/gguf serialises (an independent writer)', () => {
    const bytes = serializeGgufMetadata({
      version: { value: 3, type: GGUFValueType.UINT32 },
      tensor_count: { value: 0n, type: GGUFValueType.UINT64 },
      kv_count: { value: 3n, type: GGUFValueType.UINT64 },
      'general.architecture': { value: 'llama', type: GGUFValueType.STRING },
      'llama.rope.freq_base': { value: 500000, type: GGUFValueType.FLOAT32 },
      'tokenizer.ggml.scores': { value: [0, -1.5, -2.25], type: GGUFValueType.ARRAY, subType: GGUFValueType.FLOAT32 },
    } as Parameters<typeof serializeGgufMetadata>[0]);
    const header = parseGgufHeader(bytes, 'peer-header');
    expect(header.metadata.get('general.architecture')).toEqual({ type: 'string', value: 'llama' });
    expect(header.metadata.get('llama.rope.freq_base')).toEqual({ type: 'f32', value: 500000 });
    expect(header.metadata.get('tokenizer.ggml.scores')).toEqual({
      type: 'array',
      itemType: 'f32',
      value: [0, -1.5, -2.25],
    });
  });

  it('headers larger than the writer’s first 64 KiB buffer (a 32000-token vocabulary) round-trip exactly', async () => {
    // Regression: the writer grew its buffer while a write into the old one was in flight.
    const path = join(dir, 'big-header.gguf');
    const tokens = Array.from({ length: 32000 }, (_, i) => `▁piece${i}`);
    const scores = Array.from({ length: 32000 }, (_, i) => Math.fround(-i / 3));
    const metadata: Record<string, GgufValue> = {
      'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: tokens },
      'tokenizer.ggml.scores': { type: 'array', itemType: 'f32', value: scores },
      'after.u32': { type: 'u32', value: 123456789 },
    };
    await writeGguf(path, {
      metadata,
      tensors: [{ name: 'w', shape: [2, 32], type: 'Q8_0', data: () => quantize('Q8_0', randn(64)) }],
    });
    const file = await GgufFile.open(path);
    await file.close();
    expect(file.header.metadata.get('tokenizer.ggml.tokens')).toEqual(metadata['tokenizer.ggml.tokens']);
    expect(file.header.metadata.get('tokenizer.ggml.scores')).toEqual(metadata['tokenizer.ggml.scores']);
    expect(file.header.metadata.get('after.u32')).toEqual({ type: 'u32', value: 123456789 });
    const peer = await gguf(path, { allowLocalFile: true });
    expect((peer.metadata as unknown as Record<string, unknown>)['after.u32']).toBe(123456789);
  });

  it('Q8_0 bytes written and read back dequantize to the same values', async () => {
    const path = join(dir, 'q.gguf');
    const values = randn(2 * 256);
    await writeGguf(path, {
      metadata: {},
      tensors: [{ name: 'w', shape: [2, 256], type: 'Q8_0', data: () => quantize('Q8_0', values) }],
    });
    const file = await GgufFile.open(path);
    const bytes = await file.tensorBytes(file.header.tensors[0]!);
    await file.close();
    expect(dequantize('Q8_0', bytes, 512)).toEqual(dequantize('Q8_0', quantize('Q8_0', values), 512));
  });

  it('errors name the file and the problem', async () => {
    const good = join(dir, 'good.gguf');
    await writeGguf(good, {
      metadata: { 'a.b': { type: 'u32', value: 1 } },
      tensors: [{ name: 'w', shape: [64], type: 'F32', data: () => quantize('F32', randn(64)) }],
    });
    const bytes = await readFile(good);
    const bad = join(dir, 'bad.gguf');
    await writeFile(bad, Buffer.concat([Buffer.from('GGUX'), bytes.subarray(4)]));
    await expect(GgufFile.open(bad)).rejects.toThrow(/bad\.gguf: not a GGUF file/);
    await writeFile(bad, bytes);
    await truncate(bad, bytes.length - 10);
    await expect(GgufFile.open(bad)).rejects.toThrow(/tensor w .* runs past the end of the file/);
    await truncate(bad, 30);
    await expect(GgufFile.open(bad)).rejects.toThrow(/ends inside the GGUF header/);
    const v1 = Buffer.from(bytes);
    v1.writeUInt32LE(1, 4);
    expect(() => parseGgufHeader(v1, 'v1.gguf')).toThrow(/v1\.gguf: GGUF version 1 is not supported/);
    const q5 = Buffer.from(bytes);
    // The type id sits right before the u64 offset at the end of the tensor info.
    const infoEnd = q5.indexOf(Buffer.from('w')) + 1 + 4 + 8;
    q5.writeUInt32LE(13, infoEnd);
    await writeFile(bad, q5);
    const file = await GgufFile.open(bad);
    await expect(file.tensorBytes(file.header.tensors[0]!)).rejects.toThrow(/tensor w has ggml type Q5_K/);
    await file.close();
    await expect(
      writeGguf(join(dir, 'x.gguf'), {
        metadata: {},
        tensors: [{ name: 'w', shape: [3, 40], type: 'Q8_0', data: () => new Uint8Array(0) }],
      }),
    ).rejects.toThrow(/tensor w \[3, 40\]: rows of 40 are not whole Q8_0 blocks/);
    await expect(
      writeGguf(join(dir, 'x.gguf'), { metadata: { k: { type: 'u8', value: 300 } }, tensors: [] }),
    ).rejects.toThrow(/metadata k: 300 is not a valid u8/);
  });
});
