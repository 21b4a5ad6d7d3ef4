import { type DocumentFilter, textFilter } from './document-filter.js';
import { murmur32 } from './hashing.js';

/** Options of {@link nearDedupFilter} and {@link MinHashIndex}. */
export interface NearDedupOptions {
  /** Words per shingle; default 5. */
  shingleWords?: number;
  /** MinHash functions in a signature; default 128. */
  permutations?: number;
  /** LSH bands (must divide `permutations`); default 16, i.e. 8 rows per band. */
  bands?: number;
  /** Estimated Jaccard similarity at or above which a document is a near-duplicate; default 0.8. */
  threshold?: number;
  /** Seed of the hash functions; default 1. */
  seed?: number;
}

/** Hashes of a text's overlapping `n`-word shingles (lower-cased words; a shorter text is one shingle). */
export function shingleHashes(text: string, n: number): Uint32Array {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  if (words.length === 0) return new Uint32Array(0);
  const count = Math.max(1, words.length - n + 1);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = murmur32(words.slice(i, i + n).join(' '), 0x5bd1e995);
  return out;
}

/** murmur3's finaliser: a bijective 32-bit mixer, used as the i-th "permutation" of shingle hashes. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The fraction of equal entries of two MinHash signatures: an unbiased estimate of the shingles' Jaccard similarity. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/**
 * MinHash signatures with LSH banding (Broder 1997; Leskovec, Rajaraman & Ullman, "Mining of Massive Datasets" ch. 3).
 * A signature keeps, for each of `permutations` hash functions, the minimum over the document's shingles; two
 * documents share a band (r consecutive minima) with probability J^r, so with b bands a pair of similarity J becomes
 * a candidate with probability 1 − (1 − J^r)^b — ~0.98 at J = 0.8 and ~0.004 at J = 0.4 for b = 16, r = 8.
 * Candidates are then confirmed by the signatures' estimated Jaccard.
 */
export class MinHashIndex {
  private readonly seeds: Uint32Array;
  private readonly rows: number;
  private readonly buckets: Map<string, number>[];
  private readonly signatures: Uint32Array[] = [];
  /** See {@link NearDedupOptions}. */
  readonly shingleWords: number;
  /** See {@link NearDedupOptions}. */
  readonly threshold: number;

  /** Creates an empty index. */
  constructor(options: NearDedupOptions = {}) {
    const permutations = options.permutations ?? 128;
    const bands = options.bands ?? 16;
    if (!Number.isInteger(permutations) || !Number.isInteger(bands) || bands < 1 || permutations % bands !== 0) {
      throw new Error(`MinHashIndex: bands (${bands}) must divide permutations (${permutations})`);
    }
    this.rows = permutations / bands;
    this.shingleWords = options.shingleWords ?? 5;
    this.threshold = options.threshold ?? 0.8;
    this.seeds = new Uint32Array(permutations);
    for (let i = 0; i < permutations; i++) this.seeds[i] = mix((options.seed ?? 1) * 0x9e3779b1 + i);
    this.buckets = Array.from({ length: bands }, () => new Map());
  }

  /** The MinHash signature of a text. */
  signature(text: string): Uint32Array {
    const shingles = shingleHashes(text, this.shingleWords);
    const sig = new Uint32Array(this.seeds.length).fill(0xffffffff);
    for (let p = 0; p < this.seeds.length; p++) {
      const seed = this.seeds[p]!;
      let min = 0xffffffff;
      for (let s = 0; s < shingles.length; s++) {
        const h = mix(shingles[s]! ^ seed);
        if (h < min) min = h;
      }
      sig[p] = min;
    }
    return sig;
  }

  private bandKey(sig: Uint32Array, band: number): string {
    return sig.subarray(band * this.rows, (band + 1) * this.rows).join(',');
  }

  /** Index of an earlier document whose estimated similarity to `sig` reaches the threshold, or −1. */
  findDuplicate(sig: Uint32Array): number {
    for (let b = 0; b < this.buckets.length; b++) {
      const other = this.buckets[b]!.get(this.bandKey(sig, b));
      if (other !== undefined && estimateJaccard(sig, this.signatures[other]!) >= this.threshold) return other;
    }
    return -1;
  }

  /** Adds a signature to the index; returns its document index. */
  add(sig: Uint32Array): number {
    const id = this.signatures.length;
    this.signatures.push(sig);
    for (let b = 0; b < this.buckets.length; b++) {
      const key = this.bandKey(sig, b);
      if (!this.buckets[b]!.has(key)) this.buckets[b]!.set(key, id);
    }
    return id;
  }
}

/**
 * Near-duplicate removal (LLaMA's Books: "remove books with more than 90% content overlap"): a document whose
 * MinHash-estimated Jaccard similarity of word shingles with an earlier kept document reaches `threshold` is
 * dropped. Memory: one signature (4 bytes × permutations) and `bands` map entries per kept document.
 */
export function nearDedupFilter(options: NearDedupOptions = {}): DocumentFilter {
  const index = new MinHashIndex(options);
  return textFilter('near-dedup', (text) => {
    const sig = index.signature(text);
    if (index.findDuplicate(sig) >= 0) return null;
    index.add(sig);
    return text;
  });
}
