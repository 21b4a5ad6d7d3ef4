/**
 * The exact top-k of a row: the k largest values' indices, best first, ties by lowest index (the order `sampleTokens`
 * ranks candidates in, and its top log-probabilities).
 *
 * @module
 */

/** Indices of the k largest values of `x`, best first (ties: lowest index first). O(V·log k) insertion. */
export function topKIndices(x: ArrayLike<number>, k: number): Int32Array {
  k = Math.min(k, x.length);
  const ids = new Int32Array(k);
  const vals = new Float64Array(k).fill(-Infinity);
  let filled = 0;
  let floor = Number.NaN; // vals[k - 1] once all k are filled (NaN before: no value is above it)
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (filled === k && !(v > floor)) continue;
    let j = filled < k ? filled++ : k - 1;
    while (j > 0 && vals[j - 1]! < v) {
      vals[j] = vals[j - 1]!;
      ids[j] = ids[j - 1]!;
      j--;
    }
    vals[j] = v;
    ids[j] = i;
    if (filled === k) floor = vals[k - 1]!;
  }
  return ids;
}
