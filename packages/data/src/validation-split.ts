/**
 * The held-out validation split, decided per document by a hash of its text (no list of documents is stored).
 *
 * @module
 */
import { fnv1a32, mixSeed } from '@andes/tensor';

/**
 * Whether a document belongs to the held-out validation split: its FNV-1a hash, passed through
 * murmur3's finaliser and read as a fraction of 2^32, falls below `valFraction`. Deterministic, so
 * every run and every resume agrees on the split without storing a list of documents. (FNV-1a alone
 * has weak high bits for texts differing only at the end, which skewed the fraction in tests.)
 */
export function isValidationDocument(text: string, valFraction: number): boolean {
  return mixSeed(fnv1a32(text), 0) / 4294967296 < valFraction;
}
