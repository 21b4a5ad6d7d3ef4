/**
 * The temperature draw of `sampleTokens` in float64 with `Math.exp`, written out from the definition
 * (cpu/sample-tokens.ts, steps 4 and 6) independently of the kernels, and logits rows for their tests.
 *
 * @module
 */

/** The definition's weights: exp((x − max)/T) in float64, 0 below exponent −80. */
export function definitionWeights(a: ArrayLike<number>, temperature: number): Float64Array {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return Float64Array.from(a, (x) => {
    const z = (x - m) * (1 / temperature);
    return z < -80 ? 0 : Math.exp(z);
  });
}

/** The definition's token: the first whose running weight exceeds uniform · total. */
export function definitionToken(a: ArrayLike<number>, temperature: number, uniform: number): number {
  const w = definitionWeights(a, temperature);
  let total = 0;
  for (const x of w) total += x;
  let acc = 0;
  for (let i = 0; i < w.length; i++) {
    acc += w[i]!;
    if (acc > uniform * total) return i;
  }
  return w.length - 1;
}

/** Rows as a small LM's (a bulk of width `spread`, a few tokens far above it) or near-flat (spikes 0). */
export function logitRow(rng: () => number, n: number, spread: number, spikes: number): Float32Array {
  const a = Float32Array.from({ length: n }, () => (rng() * 2 - 1) * spread);
  for (let j = 0; j < spikes; j++) a[Math.floor(rng() * n)] = spread + 4 + 6 * rng();
  return a;
}
