/**
 * The one seeded host generator of the repo (data order, synthetic text, few-shot draws, token sampling, test
 * inputs), beside the device's counter-based Philox. Mulberry32: its whole state is one 32-bit integer, so a data
 * loader's position is saved as JSON and restored exactly; fast, and good enough for sampling and shuffling (not for
 * cryptography). Also the two small integer hashes that derive seeds: FNV-1a of a name and murmur3's finaliser.
 *
 * @module
 */

/** A seeded stream of uniform floats in [0, 1) with helpers; `new SeededRandom(rng.state)` continues the stream. */
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

/** The stream of a {@link SeededRandom} as a plain function, for code that takes `() => number`. */
export function seededUniform(seed: number): () => number {
  const rng = new SeededRandom(seed);
  return () => rng.next();
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
