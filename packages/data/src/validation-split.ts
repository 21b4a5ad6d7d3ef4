/**
 * The held-out validation split, decided per document by a hash of its text or token ids (no list of documents is
 * stored).
 *
 * @module
 */
import { fnv1a32, mixSeed } from '@andes/tensor';

/**
 * Whether a document belongs to the held-out validation split: its FNV-1a hash, passed through
 * murmur3's finaliser and read as a fraction of 2^32, falls below `valFraction`. Deterministic, so
 * every run and every resume agrees on the split without storing a list of documents. (FNV-1a alone
 * has weak high bits for texts differing only at the end, which skewed the fraction in tests.)
 * Pre-tokenized documents (shards) are hashed by {@link fnv1a32Tokens}.
 */
export function isValidationDocument(text: string | Uint16Array | Uint32Array, valFraction: number): boolean {
  const hash = typeof text === 'string' ? fnv1a32(text) : fnv1a32Tokens(text);
  return mixSeed(hash, 0) / 4294967296 < valFraction;
}

/**
 * FNV-1a over token ids as little-endian u32 bytes, so a pre-tokenized document lands in the same split whether
 * its shard stores uint16 or uint32.
 */
export function fnv1a32Tokens(ids: ArrayLike<number>): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    for (let b = 0; b < 32; b += 8) {
      h ^= (id >>> b) & 0xff;
      h = Math.imul(h, 0x01000193);
    }
  }
  return h >>> 0;
}
