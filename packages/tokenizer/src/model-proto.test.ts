import { describe, expect, it } from 'vitest';
import { tokenizerFromBytes } from './load.js';
import { ModelType, PieceType, parseModelProto, serializeModelProto } from './model-proto.js';
import { ProtoReader, ProtoWriter } from './protobuf.js';

function tinyModel(): Uint8Array {
  return serializeModelProto({
    pieces: [
      { piece: '<unk>', score: 0, type: PieceType.unknown },
      { piece: '<s>', score: 0, type: PieceType.control },
      { piece: '</s>', score: 0, type: PieceType.control },
      { piece: '▁', score: -1, type: PieceType.normal },
      { piece: 'a', score: -2, type: PieceType.normal },
      { piece: '▁a', score: -0.5, type: PieceType.normal },
    ],
    trainerSpec: {
      modelType: ModelType.bpe,
      vocabSize: 6,
      byteFallback: false,
      splitDigits: false,
      treatWhitespaceAsSuffix: false,
      unkId: 0,
      bosId: 1,
      eosId: 2,
      padId: -1,
      unkSurface: ' \u2047 ',
    },
    normalizerSpec: {
      name: 'identity',
      precompiledCharsmap: new Uint8Array(0),
      addDummyPrefix: true,
      removeExtraWhitespaces: false,
      escapeWhitespaces: true,
    },
    raw: {},
  });
}

describe('protobuf wire format', () => {
  it('round-trips varints, negative int32, floats and strings', () => {
    const bytes = new ProtoWriter()
      .varint(1, 300)
      .varint(2, -1)
      .float(3, -1.5)
      .string(4, 'h\u00e9\uFEFF')
      .varint(5, 2 ** 40)
      .finish();
    // Hand-checked encoding of field 1 = 300: key 0x08, then 0xAC 0x02.
    expect(Array.from(bytes.slice(0, 3))).toEqual([0x08, 0xac, 0x02]);
    const r = new ProtoReader(bytes, 'T');
    r.tag();
    expect(r.varint()).toBe(300);
    r.tag();
    expect(r.int32()).toBe(-1);
    r.tag();
    expect(r.float()).toBe(-1.5);
    r.tag();
    expect(r.string()).toBe('h\u00e9\uFEFF');
    r.tag();
    expect(r.varint()).toBe(2 ** 40);
    expect(r.done()).toBe(true);
  });

  it('parses what it serialises, pad id -1 included', () => {
    const m = parseModelProto(tinyModel());
    expect(m.pieces.map((p) => p.piece)).toEqual(['<unk>', '<s>', '</s>', '▁', 'a', '▁a']);
    expect(m.trainerSpec.padId).toBe(-1);
    expect(m.trainerSpec.modelType).toBe(ModelType.bpe);
    expect(m.normalizerSpec.removeExtraWhitespaces).toBe(false);
    const tok = tokenizerFromBytes(tinyModel());
    expect(tok.encode('a a', { bos: true })).toEqual([1, 5, 5]);
    // No byte fallback: a run of unknown characters becomes one <unk>.
    expect(tok.encode('axyz')).toEqual([5, 0]);
  });

  it('names the byte offset and field path of a truncation', () => {
    const bytes = tinyModel();
    for (const cut of [1, 5, 17, bytes.length - 3]) {
      expect(() => tokenizerFromBytes(bytes.subarray(0, cut), 'cut.model')).toThrow(
        /cut\.model.*byte offset \d+.*ModelProto/,
      );
    }
    expect(() => tokenizerFromBytes(bytes.subarray(0, 3), 'x')).toThrow(/pieces\[0\]/);
  });

  it('rejects garbage and empty input with a clear message', () => {
    expect(() => tokenizerFromBytes(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(/varint|wire type|field/);
    expect(() => tokenizerFromBytes(new Uint8Array(0))).toThrow(/no pieces/);
  });
});
