/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the counter-based generator
 * behind `Backend.random`. Every backend must compute exactly the same 32-bit words; only the final float transform may
 * differ by rounding.
 *
 * ## Definition of `random(kind, size, seed, offset)`
 *
 * For element `i` (0 ≤ i < size) let `n = offset + i` (an integer below 2^53). Then
 *
 * - counter `c = (n mod 2^32, floor(n / 2^32), 0, 0)` (four uint32 words),
 * - key `k = (seed mod 2^32, floor(seed / 2^32) mod 2^32)` (seed is a non-negative integer below 2^53),
 * - `(x0, x1, x2, x3) = philox4x32_10(c, k)` as defined below.
 *
 * - `uniform`: `(x0 >>> 8) · 2^-24`, a float in [0, 1) exactly representable in float32.
 * - `normal` (Box–Muller, cosine branch only):
 *   `u1 = ((x0 >>> 8) + 1) · 2^-24` in (0, 1] (never 0, so the log is finite),
 *   `u2 = (x1 >>> 8) · 2^-24` in [0, 1),
 *   `z = sqrt(-2 · ln(u1)) · cos(2π · u2)`, rounded to float32.
 *
 * ## philox4x32_10(c, k)
 *
 * Ten rounds. Each round, with `M0 = 0xD2511F53`, `M1 = 0xCD9E8D57`:
 *
 * ```
 * (hi0, lo0) = mulhilo32(M0, c0)     // full 64-bit product split into high and low 32-bit words
 * (hi1, lo1) = mulhilo32(M1, c2)
 * c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
 * ```
 *
 * and between rounds (nine times, not after the last) the key is bumped modulo 2^32:
 * `k0 += 0x9E3779B9; k1 += 0xBB67AE85`. The output is `c` after round ten.
 *
 * `mulhilo32` needs only 32-bit arithmetic (WGSL has no 64-bit integers): the low word is the wrapping product; the
 * high word is assembled from 16-bit halves, as {@link mulhi32} shows.
 *
 * Known-answer vectors (Random123 `kat_vectors`) are checked in `philox.test.ts`.
 *
 * @module
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;
const TWO_POW_M24 = 1 / 16777216;

/**
 * High 32 bits of the 64-bit product of two uint32 values, computed from 16-bit halves so the same steps port to
 * WGSL's u32 arithmetic: with a = aH·2^16 + aL and b = bH·2^16 + bL,
 * hi = aH·bH + (aH·bL >> 16) + (aL·bH >> 16) + carry, where carry comes from the middle 16 bits.
 */
export function mulhi32(a: number, b: number): number {
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const ll = Math.imul(aL, bL) >>> 0;
  const lh = Math.imul(aL, bH) >>> 0;
  const hl = Math.imul(aH, bL) >>> 0;
  const hh = Math.imul(aH, bH) >>> 0;
  // Middle column: carries out of the low word.
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff); // < 3·2^16, fits easily
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Philox4x32-10 block function: four uint32 counter words and two uint32 key words to four uint32 output words.
 * `out` receives the result (a length-4 Uint32Array, reused to avoid allocation).
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): Uint32Array {
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** Splits a non-negative integer below 2^53 into its low and high uint32 words. */
export function splitUint64(n: number): [lo: number, hi: number] {
  return [(n % TWO_POW_32) >>> 0, (Math.floor(n / TWO_POW_32) % TWO_POW_32) >>> 0];
}

/**
 * Fills `out` with `random(kind, out.length, seed, offset)` exactly as defined in this module's doc comment.
 * The reference implementation every backend is tested against.
 */
export function philoxFill(kind: 'uniform' | 'normal', out: Float32Array, seed: number, offset: number): Float32Array {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`random: seed must be a non-negative safe integer, got ${seed}`);
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new Error(`random: offset must be a non-negative safe integer, got ${offset}`);
  }
  const [k0, k1] = splitUint64(seed);
  const words = new Uint32Array(4);
  let [lo, hi] = splitUint64(offset);
  for (let i = 0; i < out.length; i++) {
    philox4x32(lo, hi, 0, 0, k0, k1, words);
    if (kind === 'uniform') {
      out[i] = (words[0]! >>> 8) * TWO_POW_M24;
    } else {
      const u1 = ((words[0]! >>> 8) + 1) * TWO_POW_M24;
      const u2 = (words[1]! >>> 8) * TWO_POW_M24;
      out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    // Increment the 64-bit counter n = offset + i.
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  }
  return out;
}
