/**
 * A small seeded random generator for sampling. Each request owns one, so a request's output depends only on
 * its own seed and logits, never on which other requests share the batch.
 *
 * @module
 */

/** Mixes a 32-bit integer (splitmix32's finalizer); used to expand one seed into the generator's four words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** xoshiro128** seeded from a number: `next()` returns a uniform float in [0, 1) with 32 random bits. */
export class SeededRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` may be any finite number; its integer part (mod 2^53) selects the stream. */
  constructor(seed: number) {
    const n = Math.trunc(seed);
    const st = { s: (n >>> 0) ^ Math.imul(Math.floor(n / 2 ** 32) | 0, 0x27d4eb2d) };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result / 2 ** 32;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A fresh seed for requests that did not ask for one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}
