/**
 * The WebGPU layout of a block weight: the GGUF bytes regrouped at upload into word-aligned sections, so kernels read
 * whole 32-bit words instead of bytes at odd offsets (a Q4_0 block is 18 bytes, a Q6_K block 210):
 *
 * - payload: the quant bits of each block as whole words, `[row][block][payloadWords]` (row r starts at word
 *   `r · rowWords`), so consecutive words of a row run along K (GPU lanes that split K read adjacent words);
 * - aux: per-block side data that is already whole words (Q4_K's d, dmin and 12 scale bytes; Q6_K's 16 int8
 *   scales), `[row · blocks + block][auxWords]`;
 * - halves: the f16 block scale of Q8_0 / Q4_0 / Q6_K, two per word, indexed by `row · blocks + block`.
 *
 * Nothing is widened or re-rounded: the sections hold the file's bits, so memory stays at the format's bits per
 * weight (plus at most one padding word per section, or one half per F16/BF16 row of odd length), and
 * {@link unpackBlockWords} gives the GGUF bytes back exactly.
 *
 * @module
 */

import type { BlockType } from '../backend/backend.js';
import { ggmlBlockInfo, ggmlByteSize } from '../formats/ggml-types.js';

/** Where each part of a ggml block goes (byte ranges inside one block). */
interface BlockParts {
  /** Bytes [start, start + length) of the block that form the payload (a multiple of 4 long). */
  payload: readonly [number, number];
  /** Bytes moved to the aux section (a multiple of 4 long), if any. */
  aux: readonly [number, number] | null;
  /** Byte offset of the f16 scale moved to the halves section, if any. */
  half: number | null;
}

const PARTS: Record<Exclude<BlockType, 'F16' | 'BF16'>, BlockParts> = {
  Q8_0: { payload: [2, 32], aux: null, half: 0 },
  Q4_0: { payload: [2, 16], aux: null, half: 0 },
  Q4_K: { payload: [16, 128], aux: [0, 16], half: null },
  Q6_K: { payload: [0, 192], aux: [192, 16], half: 208 },
};

/** Word offsets and sizes of the sections of an `[n, k]` weight (the kernels get them as parameters). */
export interface BlockLayout {
  /** Blocks per row (F16/BF16: whole words per row, i.e. ⌊k / 2⌋). */
  blocks: number;
  /** Payload words per block. */
  payloadWords: number;
  /** Payload words per row (F16/BF16: ⌈k / 2⌉, the last word half padding when k is odd). */
  rowWords: number;
  /** Word offset of the aux section, and its words per block (0 when absent). */
  auxOffset: number;
  auxWords: number;
  /** Word offset of the halves section. */
  halfOffset: number;
  /** Total words. */
  words: number;
}

/** Payload words of one block (F16/BF16: one word, two elements). */
export function payloadWordsPerBlock(type: BlockType): number {
  return type === 'F16' || type === 'BF16' ? 1 : PARTS[type].payload[1] / 4;
}

/** The section layout of a weight `[n, k]` of `type` (k a whole number of blocks). */
export function blockLayout(type: BlockType, n: number, k: number): BlockLayout {
  if (type === 'F16' || type === 'BF16') {
    const rowWords = Math.ceil(k / 2);
    const words = n * rowWords;
    return {
      blocks: Math.floor(k / 2),
      payloadWords: 1,
      rowWords,
      auxOffset: words,
      auxWords: 0,
      halfOffset: words,
      words,
    };
  }
  const parts = PARTS[type];
  const blocks = k / ggmlBlockInfo(type).blockSize;
  const payloadWords = payloadWordsPerBlock(type);
  const auxWords = parts.aux ? parts.aux[1] / 4 : 0;
  const auxOffset = n * blocks * payloadWords;
  const halfOffset = auxOffset + n * blocks * auxWords;
  const words = halfOffset + (parts.half === null ? 0 : Math.ceil((n * blocks) / 2));
  return { blocks, payloadWords, rowWords: blocks * payloadWords, auxOffset, auxWords, halfOffset, words };
}

/** Regroups the GGUF bytes of a weight `[n, k]` (rows of whole blocks) into the sections of {@link blockLayout}. */
export function packBlockWords(type: BlockType, n: number, k: number, bytes: Uint8Array): Int32Array {
  const layout = blockLayout(type, n, k);
  const words = new Int32Array(layout.words);
  const out = new Uint8Array(words.buffer);
  if (type === 'F16' || type === 'BF16') {
    for (let r = 0; r < n; r++) out.set(bytes.subarray(2 * r * k, 2 * (r + 1) * k), 4 * r * layout.rowWords);
    return words;
  }
  const parts = PARTS[type];
  const { typeSize } = ggmlBlockInfo(type);
  const [ps, pl] = parts.payload;
  for (let i = 0; i < n * layout.blocks; i++) {
    const at = i * typeSize;
    out.set(bytes.subarray(at + ps, at + ps + pl), i * pl);
    if (parts.aux) {
      const [as, al] = parts.aux;
      out.set(bytes.subarray(at + as, at + as + al), 4 * layout.auxOffset + i * al);
    }
    if (parts.half !== null) {
      const h = 4 * layout.halfOffset + 2 * i;
      out[h] = bytes[at + parts.half]!;
      out[h + 1] = bytes[at + parts.half + 1]!;
    }
  }
  return words;
}

/** The exact GGUF bytes back from the sections written by {@link packBlockWords}. */
export function unpackBlockWords(type: BlockType, n: number, k: number, words: Int32Array): Uint8Array {
  const layout = blockLayout(type, n, k);
  if (words.length < layout.words) {
    throw new Error(`unpackBlockWords ${type} [${n}, ${k}]: needs ${layout.words} words, got ${words.length}`);
  }
  const src = new Uint8Array(words.buffer, words.byteOffset, 4 * layout.words);
  const bytes = new Uint8Array(ggmlByteSize(type, n * k));
  if (type === 'F16' || type === 'BF16') {
    for (let r = 0; r < n; r++)
      bytes.set(src.subarray(4 * r * layout.rowWords, 4 * r * layout.rowWords + 2 * k), 2 * r * k);
    return bytes;
  }
  const parts = PARTS[type];
  const { typeSize } = ggmlBlockInfo(type);
  const [ps, pl] = parts.payload;
  for (let i = 0; i < n * layout.blocks; i++) {
    const at = i * typeSize;
    bytes.set(src.subarray(i * pl, (i + 1) * pl), at + ps);
    if (parts.aux) {
      const [as, al] = parts.aux;
      bytes.set(src.subarray(4 * layout.auxOffset + i * al, 4 * layout.auxOffset + (i + 1) * al), at + as);
    }
    if (parts.half !== null) {
      const h = 4 * layout.halfOffset + 2 * i;
      bytes[at + parts.half] = src[h]!;
      bytes[at + parts.half + 1] = src[h + 1]!;
    }
  }
  return bytes;
}
