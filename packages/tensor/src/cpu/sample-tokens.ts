/**
 * The CPU kernel of `sampleTokens`, and the definition every backend follows. Per row, with weights in float64:
 *
 * 1. adjust: for each sparse entry, `a = fround(fround(fround(x + bias) · scale) − penalty)` (see `SamplingRows`);
 * 2. temperature 0: the first maximum of `a`;
 * 3. candidates C: the top-k of `a` (ties: lowest ids), or every token;
 * 4. weights `w = exp(z)`, z = (a − max a) · (1 / temperature), flushed to 0 for z < {@link MIN_EXPONENT}; `total` = Σ w over C in id order;
 * 5. nucleus N: the shortest prefix of C ranked by (a descending, id ascending) whose weight, summed in that order,
 *    reaches `topP · total` (all of C when topP = 1);
 * 6. draw: `mass` = Σ w over N in id order; the first id of N (id order) whose running sum exceeds `uniform · mass`.
 *
 * Log-probabilities are of the raw logits (the model's own distribution, as OpenAI reports them), float64.
 *
 * @module
 */
import type { SampledStorages, SamplingRows, View } from '../backend/backend.js';
import { CpuStorage, cpuData } from './storage.js';

/**
 * Weights exp(z) with z below this are 0: float32 on a GPU underflows near exp(-87) where float64 would not, and a
 * token of relative weight e^-80 (~1e-35) is never drawn in practice; flushing on every backend keeps them equal.
 */
export const MIN_EXPONENT = -80;

function weightOf(z: number): number {
  return z < MIN_EXPONENT ? 0 : Math.exp(z);
}

/** Index of the first maximum of `x[0…n)`. */
function firstMax(x: ArrayLike<number>, n: number): number {
  let best = 0;
  let bv = x[0]!;
  for (let i = 1; i < n; i++) {
    if (x[i]! > bv) {
      bv = x[i]!;
      best = i;
    }
  }
  return best;
}

/** Indices of the k largest values of `x`, best first (ties: lowest index first). O(V·log k) insertion. */
export function topKIndices(x: ArrayLike<number>, k: number): Int32Array {
  k = Math.min(k, x.length);
  const ids = new Int32Array(k);
  const vals = new Float64Array(k).fill(-Infinity);
  let filled = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (filled === k && !(v > vals[k - 1]!)) continue;
    let j = filled < k ? filled++ : k - 1;
    while (j > 0 && vals[j - 1]! < v) {
      vals[j] = vals[j - 1]!;
      ids[j] = ids[j - 1]!;
      j--;
    }
    vals[j] = v;
    ids[j] = i;
  }
  return ids;
}

/** log(Σ exp(x)) in float64, stable. */
export function logSumExp(x: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - m);
  return m + Math.log(s);
}

/** Row `r`'s logits with its sparse entries applied (the row itself when it has none). */
function adjusted(x: Float32Array, rows: SamplingRows, r: number): Float32Array {
  const from = rows.entryStart[r]!;
  const to = rows.entryStart[r + 1]!;
  if (from === to) return x;
  const a = x.slice();
  for (let e = from; e < to; e++) {
    const id = rows.entryIds[e]!;
    const b = Math.fround(a[id]! + rows.bias[e]!);
    const scaled = Math.fround(b * (b > 0 ? rows.scalePositive[e]! : rows.scaleNegative[e]!));
    a[id] = Math.fround(scaled - rows.penalty[e]!);
  }
  return a;
}

/** The candidates' ids in id order: the top-k of `a`, or null for every token. */
function candidates(a: Float32Array, k: number): Int32Array | null {
  if (k <= 0 || k >= a.length) return null;
  return topKIndices(a, k).sort();
}

/**
 * The nucleus: the shortest prefix of `ids` ranked by (a desc, id asc) whose weight reaches `target`, in id order.
 * Only tokens at or above a weight cutoff are ranked: the cutoff is lowered until they hold the target, and since
 * every token below it weighs less than every one above, the ranked prefix is the same as over all of `ids`. The
 * ranking is a native sort of their logits (ties weigh the same, so they need no order until the last step).
 */
function nucleus(a: Float32Array, w: Float64Array, ids: Int32Array | null, target: number, m: number, inv: number) {
  const n = ids ? ids.length : a.length;
  const at = (j: number) => (ids ? ids[j]! : j);
  let cutoff = ids ? 0 : 1e-3;
  let count = 0;
  for (;;) {
    let mass = 0;
    count = 0;
    for (let j = 0; j < n; j++) {
      if (w[at(j)]! >= cutoff) {
        mass += w[at(j)]!;
        count++;
      }
    }
    if (mass >= target || cutoff === 0) break;
    cutoff = cutoff < 1e-300 ? 0 : cutoff * 1e-3;
  }
  const values = new Float64Array(count);
  for (let j = 0, k = 0; j < n; j++) if (w[at(j)]! >= cutoff) values[k++] = a[at(j)]!;
  values.sort();
  // Walk down from the largest logit until the mass reaches the target: `threshold` is the smallest kept logit and
  // `ties` how many tokens of exactly that logit are kept (lowest ids first).
  let acc = 0;
  let threshold = values[count - 1]!;
  let ties = 0;
  for (let j = count - 1; j >= 0; j--) {
    const v = values[j]!;
    if (v !== threshold) {
      threshold = v;
      ties = 0;
    }
    ties++;
    acc += weightOf((v - m) * inv);
    if (acc >= target) break;
  }
  const kept: number[] = [];
  for (let j = 0; j < n; j++) {
    const v = a[at(j)]!;
    if (v > threshold || (v === threshold && ties-- > 0)) kept.push(at(j));
  }
  return Int32Array.from(kept);
}

/** Weights of the row being sampled, reused across calls (a vocabulary of float64s per token would churn the GC). */
let scratch = new Float64Array(0);

/** The token chosen for row `r` of `rows` from its logits `x` ([vocab]); see the module comment. */
export function sampleRow(x: Float32Array, rows: SamplingRows, r: number): number {
  const a = adjusted(x, rows, r);
  const temperature = rows.temperature[r]!;
  if (!(temperature > 0)) return firstMax(a, a.length);
  const ids = candidates(a, rows.topK[r]!);
  const inv = 1 / temperature;
  const m = a[firstMax(a, a.length)]!;
  if (scratch.length < a.length) scratch = new Float64Array(a.length);
  const w = scratch; // only the candidates' entries are written and read
  let total = 0;
  if (ids) for (const i of ids) total += w[i] = weightOf((a[i]! - m) * inv);
  else for (let i = 0; i < a.length; i++) total += w[i] = weightOf((a[i]! - m) * inv);
  const topP = rows.topP[r]!;
  const kept = topP < 1 ? nucleus(a, w, ids, topP * total, m, inv) : ids;
  const n = kept ? kept.length : a.length;
  let mass = total;
  if (kept !== ids) {
    mass = 0;
    for (let j = 0; j < n; j++) mass += w[kept![j]!]!;
  }
  const t = rows.uniform[r]! * mass;
  let acc = 0;
  for (let j = 0; j < n; j++) {
    const i = kept ? kept[j]! : j;
    acc += w[i]!;
    if (acc > t) return i;
  }
  // Unreachable in float64 (the last running sum is `mass` itself, and uniform < 1): the last kept token.
  return kept ? kept[n - 1]! : n - 1;
}

/** The CPU `sampleTokens` kernel: {@link sampleRow} per row, then the raw logits' log-probabilities if asked. */
export function sampleTokens(logits: View, rows: SamplingRows, topLogprobs: number): SampledStorages {
  const [B, V] = logits.shape as [number, number];
  const data = cpuData(logits.storage) as Float32Array;
  const ids = new Int32Array(B);
  const out: SampledStorages = { ids: new CpuStorage('int32', ids) };
  const row = (r: number) => data.subarray(logits.offset + r * V, logits.offset + (r + 1) * V);
  for (let r = 0; r < B; r++) ids[r] = sampleRow(row(r), rows, r);
  if (topLogprobs < 0) return out;
  const n = topLogprobs;
  const lp = new Float32Array(B);
  const topIds = new Int32Array(B * n);
  const topLp = new Float32Array(B * n);
  for (let r = 0; r < B; r++) {
    const x = row(r);
    const lse = logSumExp(x);
    lp[r] = x[ids[r]!]! - lse;
    const best = topKIndices(x, n);
    for (let j = 0; j < n; j++) {
      topIds[r * n + j] = best[j]!;
      topLp[r * n + j] = x[best[j]!]! - lse;
    }
  }
  out.logprob = new CpuStorage('float32', lp);
  if (n > 0) {
    out.topIds = new CpuStorage('int32', topIds);
    out.topLogprobs = new CpuStorage('float32', topLp);
  }
  return out;
}
