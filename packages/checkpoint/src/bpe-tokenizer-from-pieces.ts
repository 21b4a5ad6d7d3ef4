/**
 * A SentencePiece BPE tokenizer built from a vocabulary list, as GGUF (`tokenizer.ggml.*`) and llama2.c
 * (`tokenizer.bin`) store it: both carry only pieces, scores, piece types and the special ids, so the rest of the
 * model proto is LLaMA's (identity normalizer, no digit splitting, `▁` for spaces).
 *
 * @module
 */
import { type ModelProto, ModelType, SentencePieceTokenizer } from '@andes/tokenizer';

/** What a vocabulary-only tokenizer file supplies. */
export interface BpeVocabulary {
  /** Pieces with their merge scores and types, in id order. */
  pieces: ModelProto['pieces'];
  /** Id of the unknown piece. */
  unkId: number;
  /** Id of the beginning-of-sequence piece. */
  bosId: number;
  /** Id of the end-of-sequence piece. */
  eosId: number;
  /** Id of the padding piece; -1 when there is none. */
  padId: number;
  /** Whether unknown characters fall back to the `<0xNN>` byte pieces. */
  byteFallback: boolean;
  /** Whether a leading space is added before encoding (LLaMA: true). */
  addDummyPrefix: boolean;
}

/** Builds the tokenizer; an invalid vocabulary throws with `label` (file and part) in front of the reason. */
export function bpeTokenizerFromPieces(vocabulary: BpeVocabulary, label: string): SentencePieceTokenizer {
  const { pieces, unkId, bosId, eosId, padId, byteFallback, addDummyPrefix } = vocabulary;
  const proto: ModelProto = {
    pieces,
    trainerSpec: {
      modelType: ModelType.bpe,
      vocabSize: pieces.length,
      byteFallback,
      splitDigits: false,
      treatWhitespaceAsSuffix: false,
      unkId,
      bosId,
      eosId,
      padId,
      unkSurface: ' \u2047 ',
    },
    normalizerSpec: {
      name: 'identity',
      precompiledCharsmap: new Uint8Array(0),
      addDummyPrefix,
      removeExtraWhitespaces: false,
      escapeWhitespaces: true,
    },
    raw: {},
  };
  try {
    return new SentencePieceTokenizer(proto);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
}
