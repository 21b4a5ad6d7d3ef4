/**
 * Small seeded random number generator whose whole state is one 32-bit integer, so a data loader's
 * position can be saved as JSON and restored exactly. Mulberry32: fast, passes the usual statistical
 * batteries well enough for sampling and shuffling (not for cryptography).
 */
export class SeededRandom {
  /** Current 32-bit state; `new SeededRandom(rng.state)` continues the same sequence. */
  state: number;

  /** @param seed any integer (taken modulo 2^32). */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next uniform float in [0, 1) with 32 random bits. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('SeededRandom.pick: empty array');
    return items[this.int(items.length)]!;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}

/**
 * Mixes a seed and a stream index into a new well-spread 32-bit seed (murmur3's finaliser), so that
 * item `i` of a seeded stream can be generated directly without replaying items `0..i-1`.
 */
export function mixSeed(seed: number, index: number): number {
  let h = (seed >>> 0) ^ Math.imul(index >>> 0, 0x9e3779b1);
  h ^= Math.floor(index / 4294967296) * 0x85ebca6b;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** 32-bit FNV-1a hash of the UTF-8 bytes of `text` (the spec's offset basis 2166136261, prime 16777619). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Whether a document belongs to the held-out validation split: its FNV-1a hash, passed through
 * murmur3's finaliser and read as a fraction of 2^32, falls below `valFraction`. Deterministic, so
 * every run and every resume agrees on the split without storing a list of documents. (FNV-1a alone
 * has weak high bits for texts differing only at the end, which skewed the fraction in tests.)
 */
export function isValidationDocument(text: string, valFraction: number): boolean {
  return validationKey(text) < valFraction;
}

/** A document's position in [0, 1) on the validation scale: it is held out when this is below `valFraction`. */
export function validationKey(text: string): number {
  return mixSeed(fnv1a32(text), 0) / 4294967296;
}
