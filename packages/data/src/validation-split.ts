/**
 * The held-out validation split, decided per document by a hash of its text or token ids (no list of documents is
 * stored).
 *
 * @module
 */
import { fnv1a32, mixSeed } from '@andes/tensor';
import type { MixtureConfig } from './mixture-config.js';
import { openSource } from './sources.js';

/**
 * Whether a document belongs to the held-out validation split: its FNV-1a hash, passed through
 * murmur3's finaliser and read as a fraction of 2^32, falls below `valFraction`. Deterministic, so
 * every run and every resume agrees on the split without storing a list of documents. (FNV-1a alone
 * has weak high bits for texts differing only at the end, which skewed the fraction in tests.)
 * Pre-tokenized documents (shards) are hashed by {@link fnv1a32Tokens}.
 */
export function isValidationDocument(text: string | Uint16Array | Uint32Array, valFraction: number): boolean {
  return validationKey(text) < valFraction;
}

/** A document's position in [0, 1) on the validation scale: it is held out when this is below `valFraction`. */
export function validationKey(text: string | Uint16Array | Uint32Array): number {
  const hash = typeof text === 'string' ? fnv1a32(text) : fnv1a32Tokens(text);
  return mixSeed(hash, 0) / 4294967296;
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

/** What {@link planValidationSplit} found and chose. */
export interface ValidationSplitPlan {
  /** The fraction to use: the one asked for, or one adapted so that both splits have documents. */
  valFraction: number;
  /** Whether `valFraction` differs from the one asked for. */
  adapted: boolean;
  /** Documents in one pass over the data. */
  documents: number;
  /** Distinct documents (the split is by text, so copies of a document fall on the same side). */
  distinct: number;
  /** Distinct documents held out with `valFraction`. */
  validation: number;
}

/** Options of {@link planValidationSplit}. */
export interface PlanValidationOptions {
  /** Directory relative source paths are resolved against. */
  baseDir?: string;
  /** The fraction asked for, in (0, 1). */
  valFraction: number;
  /** Read at most this many documents; a larger corpus gets the fraction as asked (null). Default 10 000. */
  maxDocuments?: number;
}

/**
 * Checks the hash split of a small, finite mixture before training: reads one pass of every source and, when
 * `valFraction` would leave the validation or the training split without a document (a two-paragraph file at 5%),
 * picks the fraction that holds out round(fraction × distinct) documents, at least one and never all. Returns null
 * when the mixture has an unbounded (synthetic) source or more than `maxDocuments` documents: there the split is
 * statistically sound as asked. Throws when the data has fewer than two distinct documents, which no fraction
 * can split.
 */
export async function planValidationSplit(
  mixture: MixtureConfig,
  options: PlanValidationOptions,
): Promise<ValidationSplitPlan | null> {
  if (mixture.sources.some((s) => s.type === 'synthetic')) return null;
  const maxDocuments = options.maxDocuments ?? 10_000;
  const keys = new Set<number>();
  let documents = 0;
  for (const config of mixture.sources) {
    const source = await openSource({ ...config, epochs: Math.min(config.epochs ?? 1, 1) }, options.baseDir ?? '.');
    try {
      // A source whose files hold no document at all throws on the first read; that is "no text" here.
      const first = await source.next().catch((err: Error) => {
        if (/no documents/.test(err.message)) return null;
        throw err;
      });
      for (let doc = first; doc !== null; doc = await source.next()) {
        if (++documents > maxDocuments) return null;
        keys.add(validationKey(doc));
      }
    } finally {
      await source.close();
    }
  }
  if (keys.size < 2)
    throw new Error(
      documents === 0
        ? 'the data has no text'
        : `the data has ${keys.size === 0 ? 'no' : 'only one'} distinct document, so none can be held out for validation`,
    );
  const sorted = [...keys].sort((a, b) => a - b);
  const asked = sorted.filter((k) => k < options.valFraction).length;
  if (asked >= 1 && asked < sorted.length)
    return { valFraction: options.valFraction, adapted: false, documents, distinct: sorted.length, validation: asked };
  const held = Math.min(Math.max(Math.round(options.valFraction * sorted.length), 1), sorted.length - 1);
  // Halfway between the last held-out key and the next: exactly `held` documents fall below it.
  const valFraction = (sorted[held - 1]! + sorted[held]!) / 2;
  return { valFraction, adapted: true, documents, distinct: sorted.length, validation: held };
}
