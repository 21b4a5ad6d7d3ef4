/**
 * llama2.c's `tokenizer.bin` (written by its tokenizer.py, read by run.c's `build_tokenizer`): an int32
 * `max_token_length`, then per token a float32 score, an int32 byte length and the UTF-8 bytes. Pieces are stored
 * as run.c prints them: `▁` as a space, BOS as `"\n<s>\n"`, EOS as `"\n</s>\n"`. The file has no token count; run.c
 * reads `vocab_size` entries (the model's), and so does the reader when given one.
 *
 * @module
 */
import { PieceType, type PieceTypeValue, SentencePieceTokenizer, type Tokenizer } from '@andes/tokenizer';
import { bpeTokenizerFromPieces } from './bpe-tokenizer-from-pieces.js';

/** Node's file system, loaded on first use: the main entry stays importable in browsers. */
const nodeFs = () => import('node:fs/promises');
/** The atomic writers (`@andes/tensor/node`), loaded on first use: the main entry stays importable in browsers. */
const nodeWriters = () => import('@andes/tensor/node');

const BOS_TEXT = '\n<s>\n';
const EOS_TEXT = '\n</s>\n';

/**
 * Serialises a SentencePiece tokenizer as llama2.c's `tokenizer.bin`.
 *
 * @throws Error for other tokenizer kinds (run.c's encoder is SentencePiece BPE by scores).
 */
export function encodeTokenizerBin(tokenizer: Tokenizer): Uint8Array {
  if (!(tokenizer instanceof SentencePieceTokenizer)) {
    throw new Error(`tokenizer.bin: only SentencePiece tokenizers can be written (this one is ${tokenizer.kind})`);
  }
  const enc = new TextEncoder();
  const pieces = tokenizer.model.pieces.map((p, id) =>
    enc.encode(id === tokenizer.bosId ? BOS_TEXT : id === tokenizer.eosId ? EOS_TEXT : p.piece.replaceAll('▁', ' ')),
  );
  const maxLength = Math.max(0, ...pieces.map((b) => b.length));
  const out = new Uint8Array(4 + pieces.reduce((n, b) => n + 8 + b.length, 0));
  const view = new DataView(out.buffer);
  view.setInt32(0, maxLength, true);
  let at = 4;
  for (const [id, bytes] of pieces.entries()) {
    view.setFloat32(at, tokenizer.model.pieces[id]!.score, true);
    view.setInt32(at + 4, bytes.length, true);
    out.set(bytes, at + 8);
    at += 8 + bytes.length;
  }
  return out;
}

/** Writes `tokenizer.bin` atomically. */
export async function writeTokenizerBin(path: string, tokenizer: Tokenizer): Promise<void> {
  await (await nodeWriters()).writeFileAtomic(path, encodeTokenizerBin(tokenizer));
}

/**
 * Parses `tokenizer.bin` bytes into a SentencePiece BPE tokenizer: `<unk>` is UNKNOWN, BOS/EOS are CONTROL,
 * `<0xXX>` pieces are BYTE (byte fallback on when all 256 are there), the rest NORMAL with spaces back to `▁`; the
 * dummy-prefix space is added as run.c's encoder does.
 *
 * @param vocabSize - entries to read (the model's `vocab_size`); default: until the end of the bytes.
 */
export function decodeTokenizerBin(bytes: Uint8Array, name = 'tokenizer.bin', vocabSize?: number): Tokenizer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new Error(`${name}: too short for a llama2.c tokenizer.bin (${bytes.length} bytes)`);
  const maxLength = view.getInt32(0, true);
  const dec = new TextDecoder('utf-8', { fatal: true });
  const pieces: { piece: string; score: number; type: PieceTypeValue }[] = [];
  let bos = -1;
  let eos = -1;
  let at = 4;
  while (vocabSize === undefined ? at < bytes.length : pieces.length < vocabSize) {
    const id = pieces.length;
    if (at + 8 > bytes.length) {
      throw new Error(`${name}: ends at byte ${at} inside token ${id}${vocabSize ? ` of ${vocabSize}` : ''}`);
    }
    const score = view.getFloat32(at, true);
    const len = view.getInt32(at + 4, true);
    if (len < 0 || len > maxLength || at + 8 + len > bytes.length) {
      throw new Error(`${name}: token ${id} at byte ${at} has length ${len} (max_token_length ${maxLength})`);
    }
    let text: string;
    try {
      text = dec.decode(bytes.subarray(at + 8, at + 8 + len));
    } catch {
      throw new Error(`${name}: token ${id} at byte ${at} is not valid UTF-8`);
    }
    at += 8 + len;
    let type: PieceTypeValue = PieceType.normal;
    let piece = text.replaceAll(' ', '▁');
    if (text === BOS_TEXT || text === EOS_TEXT) {
      type = PieceType.control;
      piece = text.trim();
      if (text === BOS_TEXT) bos = id;
      else eos = id;
    } else if (text === '<unk>') type = PieceType.unknown;
    else if (/^<0x[0-9A-F]{2}>$/.test(text)) type = PieceType.byte;
    pieces.push({ piece, score, type });
  }
  const unk = pieces.findIndex((p) => p.type === PieceType.unknown);
  if (unk < 0) throw new Error(`${name}: no <unk> piece (SentencePiece needs one)`);
  return bpeTokenizerFromPieces(
    {
      pieces,
      unkId: unk,
      bosId: bos,
      eosId: eos,
      padId: -1,
      byteFallback: pieces.filter((p) => p.type === PieceType.byte).length === 256,
      addDummyPrefix: true,
    },
    name,
  );
}

/** Reads `tokenizer.bin` from a file. */
export async function readTokenizerBin(path: string, vocabSize?: number): Promise<Tokenizer> {
  return decodeTokenizerBin(new Uint8Array(await (await nodeFs()).readFile(path)), path, vocabSize);
}
