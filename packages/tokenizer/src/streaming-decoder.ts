// Decoding ids to text, at once or one id at a time. The Tokenizer interface (tokenizer.ts) returns a
// StreamingDecoder, so this file names no Tokenizer (a type-only import back would close an import cycle): it needs
// only a TokenByteSource, which every Tokenizer is.
import { utf8DecodeLossy } from './utf8.js';

/** Options for {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Drop control/special tokens such as `<s>` and `</s>` from the text. Default true. */
  skipSpecialTokens?: boolean;
}

/** What decoding needs of a tokenizer: the bytes of each id and which ids are special (every Tokenizer has both). */
export interface TokenByteSource {
  /**
   * The UTF-8 bytes `id` contributes to decoded text. A skipped special token gives `null` when it also ends an
   * incomplete byte-fallback sequence before it (each of those bytes becomes U+FFFD, as google's sentencepiece
   * decodes), or an empty array when the bytes on either side of it join (as Hugging Face's decoders do). `isFirst`
   * is true while no non-special token has been decoded yet (that token drops the dummy-prefix space).
   */
  tokenBytes(id: number, isFirst: boolean, skipSpecialTokens: boolean): Uint8Array | null;
  /** True for control/special tokens. */
  isSpecial(id: number): boolean;
}

/**
 * Incremental decoding for servers: push ids one at a time, get back only complete UTF-8 text.
 * Byte-fallback tokens (`<0xE4>`, `<0xBD>`, …) are held until their character is complete, and
 * SentencePiece's leading-space rule is applied once, to the first token. The concatenation of all
 * `push` results and the final `flush` equals `tokenizer.decode(ids)`.
 *
 * @example
 * const dec = tok.streamingDecoder();
 * for (const id of ids) res.write(dec.push(id));
 * res.end(dec.flush());
 */
export class StreamingDecoder {
  private pending = new Uint8Array(16);
  private pendingLength = 0;
  private first = true;
  private readonly skipSpecialTokens: boolean;

  constructor(
    private readonly tokenizer: TokenByteSource,
    options: DecodeOptions = {},
  ) {
    this.skipSpecialTokens = options.skipSpecialTokens ?? true;
  }

  /** Adds one id; returns the text that became complete (often `''` mid-character). */
  push(id: number): string {
    const bytes = this.tokenizer.tokenBytes(id, this.first, this.skipSpecialTokens);
    if (!this.tokenizer.isSpecial(id)) this.first = false;
    if (bytes === null) return this.endBytes();
    if (bytes.length === 0) return '';
    if (this.pendingLength + bytes.length > this.pending.length) {
      const grown = new Uint8Array(Math.max(this.pending.length * 2, this.pendingLength + bytes.length));
      grown.set(this.pending.subarray(0, this.pendingLength));
      this.pending = grown;
    }
    this.pending.set(bytes, this.pendingLength);
    this.pendingLength += bytes.length;
    const { text, consumed } = utf8DecodeLossy(this.pending, this.pendingLength, false);
    this.pending.copyWithin(0, consumed, this.pendingLength);
    this.pendingLength -= consumed;
    return text;
  }

  /** Emits whatever is held (incomplete bytes become U+FFFD) and resets for a new sequence. */
  flush(): string {
    const text = this.endBytes();
    this.first = true;
    return text;
  }

  /** The held bytes as text, an incomplete character's bytes as one U+FFFD each. */
  private endBytes(): string {
    if (this.pendingLength === 0) return '';
    const { text } = utf8DecodeLossy(this.pending, this.pendingLength, true);
    this.pendingLength = 0;
    return text;
  }
}

/**
 * Joins the bytes of every id (see {@link Tokenizer.tokenBytes}) and decodes them as UTF-8; a `null` (a skipped
 * special token that ends a byte sequence) decodes the bytes before it on their own.
 */
export function decodeTokens(tok: TokenByteSource, ids: ArrayLike<number>, options: DecodeOptions = {}): string {
  const skip = options.skipSpecialTokens ?? true;
  let parts: Uint8Array[] = [];
  let text = '';
  let first = true;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const b = tok.tokenBytes(id, first, skip);
    if (!tok.isSpecial(id)) first = false;
    if (b === null) {
      text += joinAndDecode(parts);
      parts = [];
    } else if (b.length > 0) parts.push(b);
  }
  return text + joinAndDecode(parts);
}

function joinAndDecode(parts: Uint8Array[]): string {
  if (parts.length === 0) return '';
  let total = 0;
  for (const p of parts) total += p.length;
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return utf8DecodeLossy(all).text;
}
