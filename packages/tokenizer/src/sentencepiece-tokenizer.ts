// A SentencePiece BPE model (`tokenizer.model`), encoding id for id like google's sentencepiece:
// normalise, split into characters (user-defined pieces matched first and frozen), merge by score
// (score-merge.ts), re-split UNUSED pieces, then byte fallback or <unk> for what is left unknown.
import {
  type ModelProto,
  ModelType,
  PieceType,
  parseModelProto,
  type SentencePieceEntry,
  serializeModelProto,
} from './model-proto.js';
import { type MergeTable, mergeSymbols, PairTable, scoreRanks } from './score-merge.js';
import { SentencePieceNormalizer, SPACE_SYMBOL } from './sentencepiece-normalizer.js';
import { sentencePieceToTokenizerJson } from './sentencepiece-to-json.js';
import { decodeTokens, StreamingDecoder } from './streaming-decoder.js';
import type { DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';
import { utf8Encode } from './utf8.js';

const CACHE_LIMIT = 1 << 17;
const CACHE_MAX_CHUNK = 48;

/** A SentencePiece BPE tokenizer; build it with `loadTokenizer` or {@link SentencePieceTokenizer.fromBytes}. */
/** Stores a serialised file (bytes, or text as UTF-8) at `path`; what {@link SentencePieceTokenizer.save} writes with. */
export type FileWriter = (path: string, data: Uint8Array | string) => Promise<void>;

export class SentencePieceTokenizer implements Tokenizer {
  /** Always `'sentencepiece'`. */
  readonly kind = 'sentencepiece' as const;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  /** The parsed model; mutate at your own risk. */
  readonly model: ModelProto;
  private readonly normalizer: SentencePieceNormalizer;
  private readonly reserved = new Map<string, number>();
  private readonly mergeable = new Map<string, number>();
  private readonly types: Uint8Array;
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly byteFallback: boolean;
  private readonly table: MergeTable;
  private readonly extraChars = new Map<string, number>();
  private readonly bmpSym = new Int32Array(65536).fill(-3);
  private readonly userDefined: Map<number, string[]> | null;
  private readonly chunkAtSpaces: boolean;
  private readonly hasUnused: boolean;
  private readonly revMerge = new Map<number, [number, number]>();
  private readonly cache = new Map<string, Int32Array>();
  private readonly surfaces: (Uint8Array | null)[];
  private readonly firstSurfaces: (Uint8Array | null)[];
  private sym = new Int32Array(256);
  private len = new Int32Array(256);

  /** Builds a tokenizer from a parsed `ModelProto` (BPE models only). */
  constructor(model: ModelProto) {
    this.model = model;
    const ts = model.trainerSpec;
    if (ts.modelType !== ModelType.bpe) {
      throw new Error(`tokenizer.model: trainer_spec.model_type is ${ts.modelType}; only BPE (2) is supported`);
    }
    const pieces = model.pieces;
    this.vocabSize = pieces.length;
    this.types = new Uint8Array(pieces.length);
    let unk = -1;
    let hasUserDefined = false;
    let hasUnused = false;
    pieces.forEach((p, id) => {
      this.types[id] = p.type;
      const isMergeable =
        p.type === PieceType.normal || p.type === PieceType.userDefined || p.type === PieceType.unused;
      const map = isMergeable ? this.mergeable : this.reserved;
      if (map.has(p.piece))
        throw new Error(`tokenizer.model: pieces[${id}] ${JSON.stringify(p.piece)} is defined twice`);
      map.set(p.piece, id);
      if (p.type === PieceType.unknown) unk = id;
      if (p.type === PieceType.userDefined) hasUserDefined = true;
      if (p.type === PieceType.unused) hasUnused = true;
      if (p.type === PieceType.byte) {
        const m = /^<0x([0-9A-F]{2})>$/.exec(p.piece);
        if (!m) throw new Error(`tokenizer.model: pieces[${id}] is BYTE but ${JSON.stringify(p.piece)} is not <0xXX>`);
        this.byteIds[Number.parseInt(m[1]!, 16)] = id;
      }
    });
    if (unk < 0) throw new Error('tokenizer.model: no piece has type UNKNOWN (sentencepiece requires one)');
    this.unkId = unk;
    this.byteFallback = ts.byteFallback;
    if (this.byteFallback && this.byteIds.includes(-1)) {
      throw new Error(
        `tokenizer.model: byte_fallback is on but <0x${this.byteIds.indexOf(-1).toString(16).toUpperCase().padStart(2, '0')}> is missing`,
      );
    }
    const validId = (id: number) => (id >= 0 && id < pieces.length ? id : -1);
    this.bosId = validId(ts.bosId);
    this.eosId = validId(ts.eosId);
    this.padId = validId(ts.padId);
    this.hasUnused = hasUnused;
    this.normalizer = new SentencePieceNormalizer(model.normalizerSpec, ts.treatWhitespaceAsSuffix);
    this.table = this.buildMergeTable(pieces);
    this.userDefined = hasUserDefined ? this.buildUserDefined(pieces) : null;
    this.chunkAtSpaces = this.spaceChunksAreSafe(pieces, ts.treatWhitespaceAsSuffix);
    [this.surfaces, this.firstSurfaces] = this.buildSurfaces(pieces);
  }

  /** Parses `tokenizer.model` bytes. */
  static fromBytes(bytes: Uint8Array): SentencePieceTokenizer {
    return new SentencePieceTokenizer(parseModelProto(bytes));
  }

  private buildMergeTable(pieces: SentencePieceEntry[]): MergeTable {
    // Symbols: mergeable piece ids, plus extra ids for single characters that are not pieces
    // themselves but occur as one side of a piece's split.
    const candidates: [string, string, number][] = [];
    for (const [piece, id] of this.mergeable) {
      const cps = Array.from(piece);
      let prefix = '';
      for (let k = 1; k < cps.length; k++) {
        prefix += cps[k - 1];
        candidates.push([prefix, piece.slice(prefix.length), id]);
      }
    }
    const symOf = (s: string): number => {
      const id = this.mergeable.get(s);
      if (id !== undefined) return id;
      const cp = s.codePointAt(0)!;
      if (s.length !== (cp > 0xffff ? 2 : 1)) return -1;
      let extra = this.extraChars.get(s);
      if (extra === undefined) this.extraChars.set(s, (extra = pieces.length + this.extraChars.size));
      return extra;
    };
    const resolved = candidates.map(([a, b, id]) => [symOf(a), symOf(b), id] as const);
    const stride = pieces.length + this.extraChars.size;
    const pairs = new PairTable(resolved.length);
    for (const [a, b, id] of resolved) if (a >= 0 && b >= 0) pairs.set(a, b, id);
    const scores = new Float32Array(stride);
    pieces.forEach((p, id) => {
      scores[id] = p.score;
    });
    const onPair = this.hasUnused
      ? (merged: number, left: number, right: number) => {
          if (this.types[merged] === PieceType.unused) this.revMerge.set(merged, [left, right]);
        }
      : null;
    return { pairs, results: null, scores, ranks: scoreRanks(scores), onPair };
  }

  private buildUserDefined(pieces: SentencePieceEntry[]): Map<number, string[]> {
    const byFirst = new Map<number, string[]>();
    pieces.forEach((p) => {
      if (p.type !== PieceType.userDefined || p.piece.length === 0) return;
      const list = byFirst.get(p.piece.charCodeAt(0)) ?? [];
      list.push(p.piece);
      byFirst.set(p.piece.charCodeAt(0), list);
    });
    for (const list of byFirst.values()) list.sort((a, b) => b.length - a.length);
    return byFirst;
  }

  // Splitting the normalised text before each '▁' that follows a non-'▁' is exact when no piece
  // contains such a '▁': then no merge (and no user-defined match) can cross that boundary, and the
  // merges inside each chunk happen in the same relative order as on the whole text.
  private spaceChunksAreSafe(pieces: SentencePieceEntry[], suffix: boolean): boolean {
    if (suffix || !this.model.normalizerSpec.escapeWhitespaces) return false;
    const inner = /[^\u2581]\u2581/;
    for (const p of pieces) {
      const t = p.type;
      if ((t === PieceType.normal || t === PieceType.userDefined || t === PieceType.unused) && inner.test(p.piece))
        return false;
    }
    return true;
  }

  private buildSurfaces(pieces: SentencePieceEntry[]): [(Uint8Array | null)[], (Uint8Array | null)[]] {
    const unkSurface = utf8Encode(this.model.trainerSpec.unkSurface);
    const ns = this.model.normalizerSpec;
    const stripFirst = ns.addDummyPrefix || ns.removeExtraWhitespaces;
    const surfaces: (Uint8Array | null)[] = [];
    const firsts: (Uint8Array | null)[] = [];
    pieces.forEach((p, id) => {
      let s: Uint8Array | null;
      let f: Uint8Array | null = null;
      if (p.type === PieceType.control) s = null;
      else if (p.type === PieceType.unknown) s = unkSurface;
      else if (p.type === PieceType.byte) s = Uint8Array.of(this.byteIdToByte(id));
      else {
        s = utf8Encode(p.piece.replaceAll(SPACE_SYMBOL, ' '));
        if (stripFirst && p.piece.startsWith(SPACE_SYMBOL))
          f = utf8Encode(p.piece.slice(1).replaceAll(SPACE_SYMBOL, ' '));
      }
      surfaces.push(s);
      firsts.push(f ?? s);
    });
    return [surfaces, firsts];
  }

  private byteIdToByte(id: number): number {
    return this.byteIds.indexOf(id);
  }

  /** The text after SentencePiece normalisation (with `▁` for spaces and the dummy prefix). */
  normalize(text: string): string {
    return this.normalizer.normalize(text);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.bos && this.bosId >= 0) out.push(this.bosId);
    const s = this.normalizer.normalize(text);
    if (this.userDefined) this.encodeWithUserDefined(s, out);
    else this.encodeSegment(s, 0, s.length, out);
    if (options.eos && this.eosId >= 0) out.push(this.eosId);
    return out;
  }

  private encodeWithUserDefined(s: string, out: number[]): void {
    let segStart = 0;
    let i = 0;
    while (i < s.length) {
      const list = this.userDefined!.get(s.charCodeAt(i));
      const hit = list?.find((u) => s.startsWith(u, i));
      if (hit === undefined) {
        i += s.codePointAt(i)! > 0xffff ? 2 : 1;
        continue;
      }
      this.encodeSegment(s, segStart, i, out);
      out.push(this.mergeable.get(hit)!);
      i += hit.length;
      segStart = i;
    }
    this.encodeSegment(s, segStart, s.length, out);
  }

  private encodeSegment(s: string, start: number, end: number, out: number[]): void {
    if (!this.chunkAtSpaces) {
      this.encodeChunk(s, start, end, out);
      return;
    }
    let chunkStart = start;
    let i = start;
    while (i < end) {
      // Skip the run of '▁' that opens the chunk, then find the next '▁'.
      while (i < end && s.charCodeAt(i) === 0x2581) i++;
      let next = s.indexOf(SPACE_SYMBOL, i);
      if (next < 0 || next > end) next = end;
      this.encodeCached(s, chunkStart, next, out);
      chunkStart = i = next;
    }
  }

  private encodeCached(s: string, start: number, end: number, out: number[]): void {
    if (end - start > CACHE_MAX_CHUNK) {
      this.encodeChunk(s, start, end, out);
      return;
    }
    const key = s.slice(start, end);
    let ids = this.cache.get(key);
    if (ids === undefined) {
      const tmp: number[] = [];
      this.encodeChunk(s, start, end, tmp);
      ids = Int32Array.from(tmp);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, ids);
    }
    for (let k = 0; k < ids.length; k++) this.pushId(ids[k]!, out);
  }

  private pushId(id: number, out: number[]): void {
    // Without byte fallback, sentencepiece merges a run of unknown pieces into one <unk>.
    if (id === this.unkId && !this.byteFallback && out.length > 0 && out[out.length - 1] === this.unkId) return;
    out.push(id);
  }

  private charSym(s: string, i: number, code: number): number {
    if (code < 0xd800 || code > 0xdfff) {
      let v = this.bmpSym[code]!;
      if (v === -3) {
        const ch = String.fromCharCode(code);
        v = this.mergeable.get(ch) ?? this.extraChars.get(ch) ?? -1;
        this.bmpSym[code] = v;
      }
      return v;
    }
    const ch = s.slice(i, i + 2);
    return this.mergeable.get(ch) ?? this.extraChars.get(ch) ?? -1;
  }

  private encodeChunk(s: string, start: number, end: number, out: number[]): void {
    if (this.sym.length < end - start) {
      this.sym = new Int32Array(end - start);
      this.len = new Int32Array(end - start);
    }
    const sym = this.sym;
    const len = this.len;
    let n = 0;
    for (let i = start; i < end; ) {
      const code = s.charCodeAt(i);
      const width = code >= 0xd800 && code <= 0xdbff && i + 1 < end ? 2 : 1;
      sym[n] = this.charSym(s, i, code);
      len[n++] = width;
      i += width;
    }
    if (this.hasUnused) this.revMerge.clear();
    mergeSymbols(this.table, sym, len, n);
    let pos = start;
    for (let k = 0; k < n; k++) {
      const l = len[k]!;
      if (l === 0) continue;
      this.emitSymbol(sym[k]!, s, pos, pos + l, out);
      pos += l;
    }
  }

  private emitSymbol(symbol: number, s: string, start: number, end: number, out: number[]): void {
    if (symbol >= 0 && symbol < this.vocabSize) {
      if (this.hasUnused && this.types[symbol] === PieceType.unused) {
        const split = this.revMerge.get(symbol);
        if (split) {
          const leftLen = this.symbolLength(split[0], s, start);
          this.emitSymbol(split[0], s, start, start + leftLen, out);
          this.emitSymbol(split[1], s, start + leftLen, end, out);
          return;
        }
      }
      this.pushId(symbol, out);
      return;
    }
    if (!this.byteFallback) {
      this.pushId(this.unkId, out);
      return;
    }
    // UTF-8 by hand: TextEncoder allocates per call, and unknown characters are common in CJK/emoji.
    const bytes = this.byteIds;
    for (let i = start; i < end; ) {
      const cp = s.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      if (cp < 0x80) out.push(bytes[cp]!);
      else if (cp < 0x800) out.push(bytes[0xc0 | (cp >> 6)]!, bytes[0x80 | (cp & 63)]!);
      else if (cp < 0x10000) {
        out.push(bytes[0xe0 | (cp >> 12)]!, bytes[0x80 | ((cp >> 6) & 63)]!, bytes[0x80 | (cp & 63)]!);
      } else {
        out.push(
          bytes[0xf0 | (cp >> 18)]!,
          bytes[0x80 | ((cp >> 12) & 63)]!,
          bytes[0x80 | ((cp >> 6) & 63)]!,
          bytes[0x80 | (cp & 63)]!,
        );
      }
    }
  }

  private symbolLength(symbol: number, s: string, start: number): number {
    if (symbol < this.vocabSize) return this.model.pieces[symbol]!.piece.length;
    return s.codePointAt(start)! > 0xffff ? 2 : 1;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    return decodeTokens(this, ids, options);
  }

  tokenBytes(id: number, isFirst: boolean, skipSpecialTokens: boolean): Uint8Array | null {
    this.checkId(id, 'tokenBytes');
    if (this.types[id] === PieceType.control)
      return skipSpecialTokens ? null : utf8Encode(this.model.pieces[id]!.piece);
    return isFirst ? this.firstSurfaces[id]! : this.surfaces[id]!;
  }

  isSpecial(id: number): boolean {
    return this.types[id] === PieceType.control;
  }

  idToPiece(id: number): string {
    this.checkId(id, 'idToPiece');
    return this.model.pieces[id]!.piece;
  }

  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.mergeable.get(piece) ?? -1;
  }

  /** The piece's score (merge priority: higher merges first). */
  score(id: number): number {
    this.checkId(id, 'score');
    return this.model.pieces[id]!.score;
  }

  streamingDecoder(options?: DecodeOptions): StreamingDecoder {
    return new StreamingDecoder(this, options);
  }

  /** The serialised `ModelProto` (what `tokenizer.model` holds). */
  toModelProto(): Uint8Array {
    return serializeModelProto(this.model);
  }

  /** An equivalent Hugging Face `tokenizer.json` (Llama style: BPE with byte fallback), as text. */
  toTokenizerJson(): string {
    return sentencePieceToTokenizerJson(this);
  }

  /**
   * Writes `tokenizer.model` (protobuf) or, for a path ending in `.json`, `tokenizer.json`, through `writeFile`.
   * The tokenizer only serialises; the caller chooses how bytes reach storage, so this package keeps no file writer
   * of its own (in Node pass `writeFileAtomic` from `@andes/tensor/node`, or `writeFile` from `node:fs/promises`).
   */
  async save(path: string, writeFile: FileWriter): Promise<void> {
    await writeFile(path, path.endsWith('.json') ? this.toTokenizerJson() : this.toModelProto());
  }

  private checkId(id: number, op: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new Error(`${op}: id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }
}
