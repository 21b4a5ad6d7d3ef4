import type { DocumentStream, DocumentStreamState } from './document-stream.js';
import type { SourceDocument } from './sources.js';

/** The part of a tokenizer the data pipeline needs (`@andes/tokenizer`'s `Tokenizer` fits). */
export interface DataTokenizer {
  /** Token ids of `text`; the pipeline asks for no BOS/EOS and adds them itself. */
  encode(text: string, options?: { bos?: boolean; eos?: boolean }): number[];
  /** Beginning-of-sequence id, put at the start of every document when `bos` is on (−1: none). */
  readonly bosId: number;
  /** End-of-sequence id, put after every document when `eos` is on (−1: none). */
  readonly eosId: number;
}

/** Where packing stands: the document holding the next sequence's first token, and that token's index in it. */
export type PackerPosition = {
  /** Document stream position just before that document was read. */
  document: DocumentStreamState;
  /** Index of the next sequence's first token among the document's tokens (BOS/EOS included). */
  tokenOffset: number;
};

/** Options of {@link SequencePacker}. */
export interface PackingOptions {
  /** Tokens per training example; sequences hold `seqLen + 1` tokens so inputs and targets shift by one. */
  seqLen: number;
  /** Prefix each document with BOS (LLaMA does); default true. */
  bos?: boolean;
  /** Append EOS to each document; default true. */
  eos?: boolean;
}

interface PendingDocument {
  state: DocumentStreamState;
  tokens: number[];
}

/**
 * Tokenizes documents and packs them back to back into sequences of `seqLen + 1` tokens. Consecutive
 * sequences overlap by one token (sequence k covers tokens [k·seqLen, (k+1)·seqLen]), so every token
 * is a prediction target exactly once. A trailing partial sequence is dropped.
 *
 * Its position is a document-stream state plus a token offset, so restoring it re-reads and
 * re-tokenizes one document instead of storing tokens in the checkpoint.
 */
export class SequencePacker {
  private pending: PendingDocument[] = [];
  private offset = 0;
  private readonly bos: boolean;
  private readonly eos: boolean;

  /** Packs documents from `stream`; call {@link SequencePacker.restore} to start elsewhere. */
  constructor(
    private readonly stream: DocumentStream,
    private readonly tokenizer: DataTokenizer,
    private readonly options: PackingOptions,
  ) {
    if (!Number.isInteger(options.seqLen) || options.seqLen < 1) {
      throw new Error(`SequencePacker: seqLen must be a positive integer, got ${options.seqLen}`);
    }
    // A tokenizer without BOS/EOS reports −1 (as @andes/tokenizer does); then there is nothing to add.
    this.bos = (options.bos ?? true) && tokenizer.bosId >= 0;
    this.eos = (options.eos ?? true) && tokenizer.eosId >= 0;
  }

  /** Token ids of one document as packed: `[BOS] + encode(text) + [EOS]` (a pre-tokenized document skips encode). */
  tokenizeDocument(text: SourceDocument): number[] {
    const ids = typeof text === 'string' ? this.tokenizer.encode(text, { bos: false, eos: false }) : text;
    const out: number[] = [];
    if (this.bos) out.push(this.tokenizer.bosId);
    for (const id of ids) out.push(id);
    if (this.eos) out.push(this.tokenizer.eosId);
    return out;
  }

  /** The current position (the document stream must have been opened at `position.document`). */
  position(): PackerPosition {
    const head = this.pending[0];
    return head
      ? { document: head.state, tokenOffset: this.offset }
      : { document: this.stream.state(), tokenOffset: 0 };
  }

  /** Continues from `position`; the stream must already be positioned at `position.document`. */
  async restore(position: PackerPosition): Promise<void> {
    this.pending = [];
    this.offset = 0;
    if (position.tokenOffset === 0) return;
    const state = this.stream.state();
    const text = await this.stream.next();
    if (text === null) throw new Error('SequencePacker.restore: the saved document no longer exists');
    const tokens = this.tokenizeDocument(text);
    if (position.tokenOffset >= tokens.length) {
      throw new Error(
        `SequencePacker.restore: token offset ${position.tokenOffset} is past the document's ${tokens.length} tokens ` +
          '(was the tokenizer or the data changed?)',
      );
    }
    this.pending.push({ state, tokens });
    this.offset = position.tokenOffset;
  }

  /** The next `[seqLen + 1]` tokens, or null when the documents run out. */
  async next(): Promise<Int32Array | null> {
    const need = this.options.seqLen + 1;
    let available = -this.offset;
    for (const d of this.pending) available += d.tokens.length;
    while (available < need) {
      const state = this.stream.state();
      const text = await this.stream.next();
      if (text === null) return null;
      const tokens = this.tokenizeDocument(text);
      this.pending.push({ state, tokens });
      available += tokens.length;
    }
    const out = new Int32Array(need);
    let filled = 0;
    let offset = this.offset;
    for (const d of this.pending) {
      const take = Math.min(need - filled, d.tokens.length - offset);
      for (let i = 0; i < take; i++) out[filled + i] = d.tokens[offset + i]!;
      filled += take;
      offset = 0;
      if (filled === need) break;
    }
    this.offset += this.options.seqLen;
    while (this.pending.length > 0 && this.offset >= this.pending[0]!.tokens.length) {
      this.offset -= this.pending[0]!.tokens.length;
      this.pending.shift();
    }
    return out;
  }
}
