// The synthetic SentencePiece vocabulary of the decode benches (random-weight models need no real tokenizer, but a
// GGUF file for llama.cpp must embed one).
import { ModelType, PieceType, SentencePieceTokenizer } from '@andes/tokenizer';

/** <unk>, <s>, </s>, the 256 byte pieces, then filler pieces up to the vocabulary size. */
export function syntheticTokenizer(vocab) {
  const pieces = [
    { piece: '<unk>', score: 0, type: PieceType.unknown },
    { piece: '<s>', score: 0, type: PieceType.control },
    { piece: '</s>', score: 0, type: PieceType.control },
  ];
  for (let b = 0; b < 256; b++) {
    pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0, type: PieceType.byte });
  }
  for (let i = pieces.length; i < vocab; i++) pieces.push({ piece: `▁t${i}`, score: -i, type: PieceType.normal });
  return new SentencePieceTokenizer({
    pieces,
    trainerSpec: {
      modelType: ModelType.bpe,
      vocabSize: vocab,
      byteFallback: true,
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
