// Hugging Face `tokenizer.json` with a BPE model: Llama 1/2 style (SentencePiece pieces, byte
// fallback, Prepend/Replace normalizer or Metaspace) and byte-level BPE (GPT-2 / Llama 3: regex
// split, ByteLevel alphabet). Added tokens are matched in the raw text before anything else; each
// remaining segment is normalised, pre-tokenised, and every piece merged by merge rank (lowest
// first, ties to the left) with the same heap/linked-list loop as SentencePiece.
import {
  asArray,
  asObject,
  asString,
  buildNormalizer,
  buildPreTokenizer,
  type Json,
  jsonError,
  type Normalizer,
  type PreTokenizer,
  unicodeToByte,
  wellFormed,
} from './hf-pipeline.js';
import { type MergeTable, mergeSymbols, PairTable, scoreRanks } from './score-merge.js';
import { decodeTokens, StreamingDecoder } from './streaming-decoder.js';
import type { DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';
import { utf8Encode } from './utf8.js';

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
}

const CACHE_LIMIT = 1 << 17;
const NO_BYTES = new Uint8Array(0);
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** A tokenizer loaded from a Hugging Face `tokenizer.json` whose model is BPE. */
export class HfTokenizer implements Tokenizer {
  readonly kind: 'hf-bpe' | 'hf-byte-level';
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  private readonly pieces: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly special = new Set<number>();
  private readonly added: AddedToken[];
  private readonly addedRe: RegExp | null;
  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer | null;
  private readonly table: MergeTable;
  private readonly byteFallback: boolean;
  private readonly fuseUnk: boolean;
  private readonly ignoreMerges: boolean;
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly stripFirstSpace: boolean;
  private readonly chunkAtSpaces: boolean;
  private readonly cache = new Map<string, Int32Array>();
  private readonly surfaces: Uint8Array[] = [];
  private sym = new Int32Array(64);
  private len = new Int32Array(64);

  /** Builds the tokenizer from parsed `tokenizer.json` content. */
  constructor(json: Json) {
    const model = asObject(json.model, 'model');
    const modelType = model.type ?? 'BPE';
    if (modelType !== 'BPE')
      jsonError('model.type', `only "BPE" models are supported, got ${JSON.stringify(modelType)}`);
    const vocab = asObject(model.vocab, 'model.vocab');
    for (const [piece, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id) || (id as number) < 0)
        jsonError(`model.vocab[${JSON.stringify(piece)}]`, `id must be a non-negative integer, got ${String(id)}`);
      this.setPiece(piece, id as number);
    }
    this.added = asArray(json.added_tokens ?? [], 'added_tokens').map((t, i) => {
      const path = `added_tokens[${i}]`;
      const o = asObject(t, path);
      const id = o.id;
      if (!Number.isInteger(id) || (id as number) < 0)
        jsonError(`${path}.id`, `expected a non-negative integer, got ${String(id)}`);
      const tok: AddedToken = {
        id: id as number,
        content: asString(o.content, `${path}.content`),
        special: o.special === true,
        lstrip: o.lstrip === true,
        rstrip: o.rstrip === true,
      };
      this.setPiece(tok.content, tok.id);
      if (tok.special) this.special.add(tok.id);
      return tok;
    });
    // Some files leave ids unused; they decode to nothing and are never produced by encode.
    for (let id = 0; id < this.pieces.length; id++) {
      if (this.pieces[id] === undefined) {
        this.pieces[id] = '';
        this.special.add(id);
      }
    }
    this.vocabSize = this.pieces.length;
    const sorted = [...this.added].sort((a, b) => b.content.length - a.content.length);
    this.addedRe = sorted.length
      ? new RegExp(sorted.map((t) => t.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gu')
      : null;

    const info = { byteLevel: false };
    this.normalizer = buildNormalizer(json.normalizer, 'normalizer');
    this.preTokenizer = buildPreTokenizer(json.pre_tokenizer, 'pre_tokenizer', info);
    const decoderText = JSON.stringify(json.decoder ?? null);
    const byteLevel = info.byteLevel || decoderText.includes('"ByteLevel"');
    this.kind = byteLevel ? 'hf-byte-level' : 'hf-bpe';
    this.byteFallback = model.byte_fallback === true;
    this.fuseUnk = model.fuse_unk === true;
    this.ignoreMerges = model.ignore_merges === true;
    this.unkId = typeof model.unk_token === 'string' ? (this.ids.get(model.unk_token) ?? -1) : -1;
    this.table = this.buildMerges(asArray(model.merges ?? [], 'model.merges'));
    this.pieces.forEach((p, id) => {
      const m = BYTE_PIECE.exec(p);
      if (m && !byteLevel) this.byteIds[Number.parseInt(m[1]!, 16)] = id;
    });
    this.stripFirstSpace = !byteLevel && /"Strip"|"Metaspace"/.test(decoderText);
    // As for SentencePiece: when no piece has a '▁' after another character, no merge crosses the
    // start of a '▁'-led chunk, so chunks can be merged (and cached) one at a time.
    this.chunkAtSpaces = !byteLevel && !this.pieces.some((p) => /[^\u2581]\u2581/.test(p));
    this.buildSurfaces(byteLevel);
    this.bosId = this.findSpecial(json, 0, ['<s>', '<|begin_of_text|>', '<|startoftext|>', '<bos>']);
    this.eosId = this.findSpecial(json, -1, ['</s>', '<|end_of_text|>', '<|endoftext|>', '<eos>']);
    this.padId = this.ids.get('<pad>') ?? this.ids.get('<|pad|>') ?? this.ids.get('[PAD]') ?? -1;
  }

  private setPiece(piece: string, id: number): void {
    const existing = this.pieces[id];
    if (existing !== undefined && existing !== piece) {
      jsonError('added_tokens', `id ${id} is both ${JSON.stringify(existing)} and ${JSON.stringify(piece)}`);
    }
    this.pieces[id] = piece;
    if (!this.ids.has(piece)) this.ids.set(piece, id);
  }

  private buildMerges(merges: unknown[]): MergeTable {
    const pairs = new PairTable(merges.length);
    const results = new Int32Array(merges.length);
    const scores = new Float32Array(merges.length);
    merges.forEach((m, rank) => {
      const path = `model.merges[${rank}]`;
      let a: string;
      let b: string;
      if (typeof m === 'string') {
        const space = m.indexOf(' ', 1);
        if (space < 0) jsonError(path, `expected "left right", got ${JSON.stringify(m)}`);
        a = m.slice(0, space);
        b = m.slice(space + 1);
      } else {
        const arr = asArray(m, path);
        a = asString(arr[0], `${path}[0]`);
        b = asString(arr[1], `${path}[1]`);
      }
      const ia = this.ids.get(a);
      const ib = this.ids.get(b);
      const ic = this.ids.get(a + b);
      if (ia === undefined || ib === undefined || ic === undefined) {
        jsonError(path, `merge ${JSON.stringify(a)} + ${JSON.stringify(b)} uses a piece missing from model.vocab`);
      }
      pairs.set(ia, ib, rank);
      results[rank] = ic;
      scores[rank] = -rank;
    });
    return { pairs, results, scores, ranks: scoreRanks(scores), onPair: null };
  }

  private buildSurfaces(byteLevel: boolean): void {
    const addedIds = new Set(this.added.map((t) => t.id));
    this.pieces.forEach((p, id) => {
      let bytes: Uint8Array;
      if (addedIds.has(id)) bytes = utf8Encode(p);
      else if (byteLevel) {
        const chars = Array.from(p);
        bytes = chars.every((c) => unicodeToByte.has(c))
          ? Uint8Array.from(chars, (c) => unicodeToByte.get(c)!)
          : utf8Encode(p);
      } else {
        const m = BYTE_PIECE.exec(p);
        bytes =
          m && this.byteFallback ? Uint8Array.of(Number.parseInt(m[1]!, 16)) : utf8Encode(p.replaceAll('\u2581', ' '));
      }
      this.surfaces.push(bytes);
    });
  }

  private findSpecial(json: Json, index: number, names: string[]): number {
    const post = json.post_processor as Json | null | undefined;
    if (index === 0 && post && Array.isArray(post.single)) {
      const first = post.single[0] as Json | undefined;
      const st = first?.SpecialToken as Json | undefined;
      if (st && typeof st.id === 'string' && this.ids.has(st.id)) return this.ids.get(st.id)!;
    }
    for (const n of names) if (this.ids.has(n)) return this.ids.get(n)!;
    return -1;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.bos && this.bosId >= 0) out.push(this.bosId);
    const s = wellFormed(text);
    let last = 0;
    let stripNext = false;
    if (this.addedRe) {
      this.addedRe.lastIndex = 0;
      for (const m of s.matchAll(this.addedRe)) {
        const tok = this.added.find((t) => t.content === m[0])!;
        let seg = s.slice(last, m.index);
        if (stripNext) seg = seg.trimStart();
        if (tok.lstrip) seg = seg.trimEnd();
        this.encodeSegment(seg, out);
        out.push(tok.id);
        stripNext = tok.rstrip;
        last = m.index + m[0].length;
      }
    }
    let tail = s.slice(last);
    if (stripNext) tail = tail.trimStart();
    this.encodeSegment(tail, out);
    if (options.eos && this.eosId >= 0) out.push(this.eosId);
    return out;
  }

  private encodeSegment(segment: string, out: number[]): void {
    if (segment.length === 0) return;
    const normalized = this.normalizer ? this.normalizer(segment) : segment;
    const words = this.preTokenizer ? this.preTokenizer([normalized]) : [normalized];
    for (const w of words) this.encodeWord(w, out);
  }

  private encodeWord(word: string, out: number[]): void {
    if (!this.chunkAtSpaces || word.length <= 64) {
      this.encodeChunk(word, out);
      return;
    }
    let start = 0;
    let i = 0;
    while (i < word.length) {
      while (i < word.length && word.charCodeAt(i) === 0x2581) i++;
      let next = word.indexOf('\u2581', i);
      if (next < 0) next = word.length;
      this.encodeChunk(word.slice(start, next), out);
      start = i = next;
    }
  }

  private encodeChunk(word: string, out: number[]): void {
    const direct = this.ignoreMerges ? this.ids.get(word) : undefined;
    if (direct !== undefined) {
      out.push(direct);
      return;
    }
    let ids = word.length <= 64 ? this.cache.get(word) : undefined;
    if (ids === undefined) {
      const tmp: number[] = [];
      this.mergeWord(word, tmp);
      ids = Int32Array.from(tmp);
      if (word.length <= 64) {
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
    }
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (id === this.unkId && this.fuseUnk && out.length > 0 && out[out.length - 1] === this.unkId) continue;
      out.push(id);
    }
  }

  private mergeWord(word: string, out: number[]): void {
    if (this.sym.length < word.length) {
      this.sym = new Int32Array(word.length);
      this.len = new Int32Array(word.length);
    }
    let n = 0;
    for (let i = 0; i < word.length; ) {
      const cp = word.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      this.sym[n] = this.ids.get(word.slice(i, i + w)) ?? -1;
      this.len[n++] = w;
      i += w;
    }
    mergeSymbols(this.table, this.sym, this.len, n);
    let pos = 0;
    for (let k = 0; k < n; k++) {
      const l = this.len[k]!;
      if (l === 0) continue;
      const id = this.sym[k]!;
      if (id >= 0) out.push(id);
      else {
        const bytes = utf8Encode(word.slice(pos, pos + l));
        if (this.byteFallback && bytes.every((b) => this.byteIds[b]! >= 0))
          for (const b of bytes) out.push(this.byteIds[b]!);
        else if (this.unkId >= 0) out.push(this.unkId);
      }
      pos += l;
    }
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    return decodeTokens(this, ids, options);
  }

  tokenBytes(id: number, isFirst: boolean, skipSpecialTokens: boolean): Uint8Array | null {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new Error(`tokenBytes: id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
    // Hugging Face's decoders drop skipped tokens first, so byte-fallback bytes around one still join.
    if (this.special.has(id) && skipSpecialTokens) return NO_BYTES;
    const b = this.surfaces[id]!;
    return isFirst && this.stripFirstSpace && b[0] === 0x20 && !this.special.has(id) ? b.subarray(1) : b;
  }

  isSpecial(id: number): boolean {
    return this.special.has(id);
  }

  idToPiece(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new Error(`idToPiece: id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
    return this.pieces[id]!;
  }

  pieceToId(piece: string): number {
    return this.ids.get(piece) ?? -1;
  }

  streamingDecoder(options?: DecodeOptions): StreamingDecoder {
    return new StreamingDecoder(this, options);
  }
}

/** Parses `tokenizer.json` text; a JSON syntax error names the character position. */
export function parseTokenizerJson(text: string): HfTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? `at character ${pos[1]} of ${text.length}` : `in ${text.length} characters (truncated?)`;
    throw new Error(`tokenizer.json: invalid JSON ${where}: ${msg}`, { cause: err });
  }
  return new HfTokenizer(asObject(json, '(root)'));
}
