/**
 * The global random stream: a Philox seed and a running counter offset. Each random tensor drawn without an explicit
 * seed consumes `size` counters, so the same seed gives the same tensors on every backend.
 *
 * @module
 */

let seed = 0;
let offset = 0;

/** Seeds the global generator (a non-negative integer below 2^53) and rewinds its counter. */
export function setSeed(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`setSeed: seed must be a non-negative safe integer, got ${n}`);
  seed = n;
  offset = 0;
}

/**
 * The (seed, offset) to use for `size` random values: an explicit seed starts at counter 0 and leaves the global
 * stream untouched; otherwise the global stream advances by `size`.
 */
export function nextRandom(size: number, explicitSeed?: number): { seed: number; offset: number } {
  if (explicitSeed !== undefined) {
    if (!Number.isSafeInteger(explicitSeed) || explicitSeed < 0) {
      throw new Error(`random: seed must be a non-negative safe integer, got ${explicitSeed}`);
    }
    return { seed: explicitSeed, offset: 0 };
  }
  const at = { seed, offset };
  offset += size;
  return at;
}

/** The global generator's state, to replay a segment (checkpoint recomputation). */
export function getRandomState(): { seed: number; offset: number } {
  return { seed, offset };
}

/** Restores a state from {@link getRandomState}. */
export function setRandomState(state: { seed: number; offset: number }): void {
  seed = state.seed;
  offset = state.offset;
}
