import type { DecodeOptions, StreamingDecoder } from './streaming-decoder.js';

// DecodeOptions lives with the decoders (which sit below this interface); re-exported so every tokenizer imports
// its options from one place.
export type { DecodeOptions } from './streaming-decoder.js';

/** Options for {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Prepend the beginning-of-sequence id (ignored when the model has none). Default false. */
  bos?: boolean;
  /** Append the end-of-sequence id (ignored when the model has none). Default false. */
  eos?: boolean;
}

/**
 * The interface shared by SentencePiece models (`tokenizer.model`) and Hugging Face
 * `tokenizer.json` tokenizers. Ids are vocabulary indices in `[0, vocabSize)`.
 */
export interface Tokenizer {
  /** Which file format this tokenizer came from. */
  readonly kind: 'sentencepiece' | 'hf-bpe' | 'hf-byte-level';
  /** Number of ids, including control, byte and added tokens. */
  readonly vocabSize: number;
  /** Beginning-of-sequence id, or -1 if the model has none. */
  readonly bosId: number;
  /** End-of-sequence id, or -1 if the model has none. */
  readonly eosId: number;
  /** Padding id, or -1 if the model has none. */
  readonly padId: number;
  /** Unknown-token id, or -1 if the model has none. */
  readonly unkId: number;
  /** Text to ids. Never throws: unknown characters fall back to bytes or the unknown id. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids to text. Invalid UTF-8 from byte tokens becomes U+FFFD; out-of-range ids throw. */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** The vocabulary string of `id` (e.g. `'▁the'`, `'<0x0A>'`); throws when out of range. */
  idToPiece(id: number): string;
  /** The id of a vocabulary string, or -1 when absent. */
  pieceToId(piece: string): number;
  /** True for control/special tokens (`<s>`, `</s>`, `<|im_end|>`…) that decode skips by default. */
  isSpecial(id: number): boolean;
  /**
   * The UTF-8 bytes `id` contributes to decoded text. A skipped special token gives `null` where it ends an incomplete
   * byte-fallback sequence before it (SentencePiece models, as google's sentencepiece decodes) or an empty array where
   * the bytes around it join (`tokenizer.json` models, as Hugging Face's decoders do). `isFirst` is true while no
   * non-special token has been decoded yet: that token drops the dummy-prefix space, as SentencePiece does. Used by
   * `decode` and {@link StreamingDecoder}.
   */
  tokenBytes(id: number, isFirst: boolean, skipSpecialTokens: boolean): Uint8Array | null;
  /** A decoder that turns ids pushed one at a time into complete UTF-8 text. */
  streamingDecoder(options?: DecodeOptions): StreamingDecoder;
}
