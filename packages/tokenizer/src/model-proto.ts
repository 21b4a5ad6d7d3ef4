// SentencePiece's `ModelProto` (sentencepiece_model.proto), read and written by hand.
// Only the fields that change encoding are decoded into objects; every nested message is also kept
// as raw bytes so a loaded model re-serialises without losing fields we do not interpret.
import { ProtoReader, ProtoWriter, WireType } from './protobuf.js';

/** `ModelProto.SentencePiece.Type`: how a piece takes part in encoding and decoding. */
export const PieceType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;
/** One of the {@link PieceType} values. */
export type PieceTypeValue = (typeof PieceType)[keyof typeof PieceType];

/** `TrainerSpec.ModelType` values. */
export const ModelType = { unigram: 1, bpe: 2, word: 3, char: 4 } as const;

/** One vocabulary entry. */
export interface SentencePieceEntry {
  piece: string;
  /** Merge priority for BPE (higher merges first); log-probability for unigram. */
  score: number;
  type: PieceTypeValue;
}

/** The `TrainerSpec` fields that matter when encoding or re-saving; others stay in `raw`. */
export interface TrainerSpec {
  modelType: number;
  vocabSize: number;
  byteFallback: boolean;
  splitDigits: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkSurface: string;
}

/** `NormalizerSpec`: proto2 defaults are `true` for the three booleans. */
export interface NormalizerSpec {
  name: string;
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

/** A parsed `tokenizer.model`. */
export interface ModelProto {
  pieces: SentencePieceEntry[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
  /** Raw bytes of sub-messages, kept for lossless re-serialisation (field number → payload). */
  raw: {
    trainerSpec?: Uint8Array;
    normalizerSpec?: Uint8Array;
    selfTestData?: Uint8Array;
    denormalizerSpec?: Uint8Array;
  };
}

/** sentencepiece's default unknown surface: " ⁇ ". */
export const defaultUnkSurface = ' \u2047 ';

export function defaultTrainerSpec(): TrainerSpec {
  return {
    modelType: ModelType.unigram,
    vocabSize: 8000,
    byteFallback: false,
    splitDigits: false,
    treatWhitespaceAsSuffix: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkSurface: defaultUnkSurface,
  };
}

export function defaultNormalizerSpec(): NormalizerSpec {
  return {
    name: 'identity',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
}

function readPiece(r: ProtoReader): SentencePieceEntry {
  const entry: SentencePieceEntry = { piece: '', score: 0, type: PieceType.normal };
  let sawPiece = false;
  while (!r.done()) {
    const t = r.tag();
    if (t.field === 1) {
      r.expect(t, WireType.lengthDelimited, 'piece');
      entry.piece = r.string();
      sawPiece = true;
    } else if (t.field === 2) {
      r.expect(t, WireType.fixed32, 'score');
      entry.score = r.float();
    } else if (t.field === 3) {
      r.expect(t, WireType.varint, 'type');
      const ty = r.varint();
      if (ty < 1 || ty > 6) r.fail(`unknown piece type ${ty}`, t.offset);
      entry.type = ty as PieceTypeValue;
    } else r.skip(t);
  }
  if (!sawPiece) r.fail('piece without its required `piece` string', r.end);
  return entry;
}

function readTrainerSpec(r: ProtoReader): TrainerSpec {
  const s = defaultTrainerSpec();
  while (!r.done()) {
    const t = r.tag();
    const isVarint = t.wireType === WireType.varint;
    if (isVarint && t.field === 3) s.modelType = r.varint();
    else if (isVarint && t.field === 4) s.vocabSize = r.int32();
    else if (isVarint && t.field === 35) s.byteFallback = r.bool();
    else if (isVarint && t.field === 25) s.splitDigits = r.bool();
    else if (isVarint && t.field === 24) s.treatWhitespaceAsSuffix = r.bool();
    else if (isVarint && t.field === 40) s.unkId = r.int32();
    else if (isVarint && t.field === 41) s.bosId = r.int32();
    else if (isVarint && t.field === 42) s.eosId = r.int32();
    else if (isVarint && t.field === 43) s.padId = r.int32();
    else if (t.field === 44 && t.wireType === WireType.lengthDelimited) s.unkSurface = r.string();
    else r.skip(t);
  }
  return s;
}

function readNormalizerSpec(r: ProtoReader): NormalizerSpec {
  const s = defaultNormalizerSpec();
  while (!r.done()) {
    const t = r.tag();
    const isVarint = t.wireType === WireType.varint;
    if (t.field === 1 && t.wireType === WireType.lengthDelimited) s.name = r.string();
    else if (t.field === 2 && t.wireType === WireType.lengthDelimited) s.precompiledCharsmap = r.bytesField().slice();
    else if (isVarint && t.field === 3) s.addDummyPrefix = r.bool();
    else if (isVarint && t.field === 4) s.removeExtraWhitespaces = r.bool();
    else if (isVarint && t.field === 5) s.escapeWhitespaces = r.bool();
    else r.skip(t);
  }
  return s;
}

/** Parses a serialised `ModelProto`; throws with the byte offset and field path on malformed input. */
export function parseModelProto(bytes: Uint8Array): ModelProto {
  const r = new ProtoReader(bytes, 'ModelProto');
  const pieces: SentencePieceEntry[] = [];
  let trainerSpec = defaultTrainerSpec();
  let normalizerSpec = defaultNormalizerSpec();
  const raw: ModelProto['raw'] = {};
  while (!r.done()) {
    const t = r.tag();
    if (t.field === 1) {
      r.expect(t, WireType.lengthDelimited, 'pieces');
      pieces.push(readPiece(r.message(`pieces[${pieces.length}]`)));
    } else if (t.field === 2) {
      r.expect(t, WireType.lengthDelimited, 'trainer_spec');
      const m = r.message('trainer_spec');
      raw.trainerSpec = bytes.slice(m.pos, m.end);
      trainerSpec = readTrainerSpec(m);
    } else if (t.field === 3) {
      r.expect(t, WireType.lengthDelimited, 'normalizer_spec');
      const m = r.message('normalizer_spec');
      raw.normalizerSpec = bytes.slice(m.pos, m.end);
      normalizerSpec = readNormalizerSpec(m);
    } else if (t.field === 4 && t.wireType === WireType.lengthDelimited) {
      raw.selfTestData = r.bytesField().slice();
    } else if (t.field === 5 && t.wireType === WireType.lengthDelimited) {
      raw.denormalizerSpec = r.bytesField().slice();
    } else r.skip(t);
  }
  if (pieces.length === 0)
    throw new Error('tokenizer.model: ModelProto has no pieces (field 1); is this a SentencePiece model?');
  return { pieces, trainerSpec, normalizerSpec, raw };
}

function writeTrainerSpec(s: TrainerSpec): Uint8Array {
  const w = new ProtoWriter();
  w.varint(3, s.modelType).varint(4, s.vocabSize);
  w.bool(24, s.treatWhitespaceAsSuffix).bool(25, s.splitDigits).bool(35, s.byteFallback);
  w.varint(40, s.unkId).varint(41, s.bosId).varint(42, s.eosId).varint(43, s.padId);
  if (s.unkSurface !== defaultUnkSurface) w.string(44, s.unkSurface);
  return w.finish();
}

function writeNormalizerSpec(s: NormalizerSpec): Uint8Array {
  const w = new ProtoWriter();
  w.string(1, s.name);
  if (s.precompiledCharsmap.length > 0) w.bytes(2, s.precompiledCharsmap);
  w.bool(3, s.addDummyPrefix).bool(4, s.removeExtraWhitespaces).bool(5, s.escapeWhitespaces);
  return w.finish();
}

/** Serialises a `ModelProto`; raw sub-messages (from a loaded file) are written back verbatim. */
export function serializeModelProto(m: ModelProto): Uint8Array {
  const w = new ProtoWriter();
  for (const p of m.pieces) {
    const pw = new ProtoWriter().string(1, p.piece).float(2, p.score);
    if (p.type !== PieceType.normal) pw.varint(3, p.type);
    w.bytes(1, pw.finish());
  }
  w.bytes(2, m.raw.trainerSpec ?? writeTrainerSpec(m.trainerSpec));
  w.bytes(3, m.raw.normalizerSpec ?? writeNormalizerSpec(m.normalizerSpec));
  if (m.raw.selfTestData) w.bytes(4, m.raw.selfTestData);
  if (m.raw.denormalizerSpec) w.bytes(5, m.raw.denormalizerSpec);
  return w.finish();
}
