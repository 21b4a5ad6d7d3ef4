/**
 * GGUF's embedded tokenizer (`tokenizer.ggml.*`) ↔ an Andes SentencePiece tokenizer. For `tokenizer.ggml.model =
 * "llama"` (SentencePiece BPE) the file holds the pieces, their scores and types (the same numbers as
 * sentencepiece's piece types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte) and the special
 * ids; llama.cpp applies no normaliser beyond the dummy-prefix space and ▁ for spaces, and so does the tokenizer
 * built here.
 *
 * @module
 */
import { PieceType, type PieceTypeValue, SentencePieceTokenizer, type Tokenizer } from '@andes/tokenizer';
import { bpeTokenizerFromPieces } from './bpe-tokenizer-from-pieces.js';
import { metaNumber, metaString } from './gguf-llama.js';
import type { GgufArray, GgufValue } from './gguf-metadata.js';

function arrayOf(meta: ReadonlyMap<string, GgufValue>, key: string, file: string): GgufArray | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== 'array') throw new Error(`${file}: ${key} should be an array, got ${v.type}`);
  return v;
}

/**
 * The tokenizer a GGUF file embeds, or undefined when it has none. Only SentencePiece vocabularies
 * (`tokenizer.ggml.model = "llama"`) are read; others throw, naming the model.
 */
export function tokenizerFromGguf(meta: ReadonlyMap<string, GgufValue>, file: string): Tokenizer | undefined {
  const model = metaString(meta, 'tokenizer.ggml.model');
  const tokens = arrayOf(meta, 'tokenizer.ggml.tokens', file);
  if (model === undefined && tokens === undefined) return undefined;
  if (model !== 'llama') {
    throw new Error(
      `${file}: tokenizer.ggml.model ${JSON.stringify(model)} is not supported (only "llama", SentencePiece BPE)`,
    );
  }
  if (tokens?.itemType !== 'string') throw new Error(`${file}: tokenizer.ggml.tokens must be a string array`);
  const n = tokens.value.length;
  const scores = arrayOf(meta, 'tokenizer.ggml.scores', file);
  const types = arrayOf(meta, 'tokenizer.ggml.token_type', file);
  for (const [key, a] of [
    ['scores', scores],
    ['token_type', types],
  ] as const) {
    if (a && a.value.length !== n)
      throw new Error(`${file}: tokenizer.ggml.${key} has ${a.value.length} entries, tokens ${n}`);
  }
  const pieces = tokens.value.map((piece, i) => {
    const type = types ? Number(types.value[i]) : PieceType.normal;
    if (!Number.isInteger(type) || type < 1 || type > 6) {
      throw new Error(`${file}: tokenizer.ggml.token_type[${i}] is ${type} (1 to 6 allowed)`);
    }
    return { piece: piece as string, score: scores ? Number(scores.value[i]) : 0, type: type as PieceTypeValue };
  });
  const id = (key: string, fallback: number) => metaNumber(meta, `tokenizer.ggml.${key}`, file, fallback);
  const unknown = pieces.findIndex((p) => p.type === PieceType.unknown);
  return bpeTokenizerFromPieces(
    {
      pieces,
      unkId: id('unknown_token_id', Math.max(unknown, 0)),
      bosId: id('bos_token_id', 1),
      eosId: id('eos_token_id', 2),
      padId: id('padding_token_id', -1),
      byteFallback: pieces.some((p) => p.type === PieceType.byte),
      addDummyPrefix: meta.get('tokenizer.ggml.add_space_prefix')?.value !== false,
    },
    `${file}: embedded tokenizer`,
  );
}

/**
 * The `tokenizer.ggml.*` metadata of a SentencePiece tokenizer (pieces, scores, types, special ids, BOS added,
 * EOS not, the dummy-prefix setting).
 *
 * @throws Error for other tokenizer kinds (byte-level BPE would need GGUF's "gpt2" vocabulary with merges).
 */
export function ggufTokenizerMetadata(tokenizer: Tokenizer): Map<string, GgufValue> {
  if (!(tokenizer instanceof SentencePieceTokenizer)) {
    throw new Error(`GGUF: only SentencePiece tokenizers can be embedded (this one is ${tokenizer.kind})`);
  }
  const { pieces, normalizerSpec } = tokenizer.model;
  const meta = new Map<string, GgufValue>([
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: pieces.map((p) => p.piece) }],
    ['tokenizer.ggml.scores', { type: 'array', itemType: 'f32', value: pieces.map((p) => p.score) }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', value: pieces.map((p) => p.type) }],
  ]);
  const ids: [string, number][] = [
    ['bos_token_id', tokenizer.bosId],
    ['eos_token_id', tokenizer.eosId],
    ['unknown_token_id', tokenizer.unkId],
    ['padding_token_id', tokenizer.padId],
  ];
  for (const [key, v] of ids) if (v >= 0) meta.set(`tokenizer.ggml.${key}`, { type: 'u32', value: v });
  meta.set('tokenizer.ggml.add_bos_token', { type: 'bool', value: true });
  meta.set('tokenizer.ggml.add_eos_token', { type: 'bool', value: false });
  meta.set('tokenizer.ggml.add_space_prefix', { type: 'bool', value: normalizerSpec.addDummyPrefix });
  return meta;
}
