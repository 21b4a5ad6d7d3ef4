// SentencePiece's Normalizer: optional precompiled character map (a darts-clone double-array trie
// over UTF-8 bytes, e.g. nmt_nfkc), removal of extra spaces, the dummy-prefix `▁`, and escaping
// ' ' as '▁'. LLaMA's models use the identity map, so the fast string path below is the usual one.
import type { NormalizerSpec } from './model-proto.js';
import { toWellFormed, utf8Encode, utf8SequenceLength } from './utf8.js';

/** U+2581, SentencePiece's visible space. */
export const SPACE_SYMBOL = '\u2581';

/** Longest-prefix lookups in a precompiled charsmap (darts-clone double array + string blob). */
class CharsMap {
  private readonly units: Uint32Array;
  private readonly normalized: Uint8Array;

  constructor(blob: Uint8Array) {
    if (blob.length < 4) throw new Error(`normalizer_spec.precompiled_charsmap: ${blob.length} bytes, need at least 4`);
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || 4 + trieSize > blob.length) {
      throw new Error(
        `normalizer_spec.precompiled_charsmap: trie size ${trieSize} does not fit in ${blob.length} bytes`,
      );
    }
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
    this.normalized = blob.subarray(4 + trieSize);
  }

  /** Longest match at `bytes[pos..]`: `[matchedLength, replacementBytes]`, or null. */
  match(bytes: Uint8Array, pos: number): [number, Uint8Array] | null {
    const u = this.units;
    if (u.length === 0) return null;
    const offset = (unit: number) => (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
    let node = offset(u[0]!);
    let best: [number, number] | null = null;
    for (let i = pos; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c === 0) break;
      node ^= c;
      if (node >= u.length) break;
      const unit = u[node]!;
      if ((unit & ((1 << 31) | 0xff)) !== c) break;
      node ^= offset(unit);
      if (node >= u.length) break;
      if ((unit >>> 8) & 1) best = [i - pos + 1, u[node]! & 0x7fffffff];
    }
    if (!best) return null;
    let end = best[1];
    while (end < this.normalized.length && this.normalized[end] !== 0) end++;
    return [best[0], this.normalized.subarray(best[1], end)];
  }
}

const REPLACEMENT = utf8Encode('\uFFFD');
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Turns raw text into the string the BPE model sees. */
export class SentencePieceNormalizer {
  private readonly charsMap: CharsMap | null;

  constructor(
    readonly spec: NormalizerSpec,
    private readonly treatWhitespaceAsSuffix: boolean,
  ) {
    this.charsMap = spec.precompiledCharsmap.length > 0 ? new CharsMap(spec.precompiledCharsmap) : null;
  }

  normalize(text: string): string {
    const spec = this.spec;
    let s = toWellFormed(text);
    if (this.charsMap) s = this.applyCharsMap(s);
    if (spec.removeExtraWhitespaces) {
      s = s.replace(/ {2,}/g, ' ');
      if (s.startsWith(' ')) s = s.slice(1);
    }
    if (s.length === 0) return '';
    const ws = spec.escapeWhitespaces ? SPACE_SYMBOL : ' ';
    if (spec.escapeWhitespaces) s = s.replaceAll(' ', SPACE_SYMBOL);
    if (spec.removeExtraWhitespaces) {
      let end = s.length;
      while (end > 0 && s[end - 1] === ws) end--;
      s = s.slice(0, end);
    }
    if (spec.addDummyPrefix) s = this.treatWhitespaceAsSuffix ? s + ws : ws + s;
    return s;
  }

  private applyCharsMap(s: string): string {
    const bytes = utf8Encode(s);
    const out: number[] = [];
    let i = 0;
    while (i < bytes.length) {
      const m = this.charsMap!.match(bytes, i);
      if (m) {
        for (const b of m[1]) out.push(b);
        i += m[0];
        continue;
      }
      const n = utf8SequenceLength(bytes, i, bytes.length);
      if (n <= 0) {
        out.push(...REPLACEMENT);
        i++;
      } else {
        for (let k = 0; k < n; k++) out.push(bytes[i + k]!);
        i += n;
      }
    }
    return decoder.decode(new Uint8Array(out));
  }
}
