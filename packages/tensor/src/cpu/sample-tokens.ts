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
import { drawByBlocks, NOT_PROVEN } from './draw-by-blocks.js';
import { EXP2_64_ERROR } from './exp2-polynomial.js';
import { FAST_EXP_ERROR, fastExp, logSumExpBounds, MIN_EXPONENT, sumErrorBound } from './sample-tokens-exp.js';
import { CpuStorage, cpuData } from './storage.js';
import { topKIndices } from './top-k.js';
import { topKByBlocks } from './top-k-blocks.js';
import { ensureMemory, rowAddress, WORK_BYTES } from './wasm-heap.js';
import { firstMaxOf } from './wasm-rows.js';
import { BLOCK, wasmSampling } from './wasm-sampling.js';

export { MIN_EXPONENT } from './sample-tokens-exp.js';
export { topKIndices } from './top-k.js';

function weightOf(z: number): number {
  return z < MIN_EXPONENT ? 0 : Math.exp(z);
}

/** Index of the first maximum of `x[0…n)` (on the SIMD kernel where it runs: the same index, ~10× faster). */
function firstMax(x: Float32Array, n: number): number {
  const simd = firstMaxOf(x, n);
  if (simd !== null) return simd;
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

/** log(Σ exp(x)) in float64, stable. */
export function logSumExp(x: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - m);
  return m + Math.log(s);
}

/** The logits that {@link adjustInPlace} replaced (ids, values; reused across rows). */
let savedIds = new Int32Array(16);
let savedValues = new Float32Array(16);

/**
 * Applies row `r`'s sparse entries to its logits `x` in place, keeping the values they replace for {@link restore};
 * returns how many. Why in place: a copy of the row per draw (128 KB at vocab 32 000, then copied again into wasm
 * memory for the SIMD draw) cost more than the draw itself for a row with one logit bias, and the row itself may
 * already sit in wasm memory, where the draw reads it without a copy.
 */
function adjustInPlace(x: Float32Array, rows: SamplingRows, r: number): number {
  const from = rows.entryStart[r]!;
  const count = rows.entryStart[r + 1]! - from;
  if (savedIds.length < count) {
    savedIds = new Int32Array(count);
    savedValues = new Float32Array(count);
  }
  for (let j = 0; j < count; j++) {
    const e = from + j;
    const id = rows.entryIds[e]!;
    savedIds[j] = id;
    savedValues[j] = x[id]!;
    const b = Math.fround(x[id]! + rows.bias[e]!);
    const scaled = Math.fround(b * (b > 0 ? rows.scalePositive[e]! : rows.scaleNegative[e]!));
    x[id] = Math.fround(scaled - rows.penalty[e]!);
  }
  return count;
}

/** Puts back the `count` logits that {@link adjustInPlace} replaced in `x`, last first (an id twice: its original). */
function restore(x: Float32Array, count: number): void {
  for (let j = count - 1; j >= 0; j--) x[savedIds[j]!] = savedValues[j]!;
}

/** Ids at or above the nucleus's weight cutoff (id order), reused across rows. */
let ranked = new Int32Array(0);

/** What a row's draw returns when the fast weights cannot prove which token `Math.exp` weights would pick. */
const UNDECIDED = -1;

/** Weight of exponent z: `Math.exp` (the definition) or {@link fastExp}, both flushed below {@link MIN_EXPONENT}. */
function weight(z: number, fast: boolean): number {
  return z < MIN_EXPONENT ? 0 : fast ? fastExp(z) : Math.exp(z);
}

/** w[i] = weight of token i for the candidates (all tokens when `ids` is null); returns their sum in id order. */
function fillWeights(w: Float64Array, a: Float32Array, ids: Int32Array | null, m: number, inv: number, fast: boolean) {
  let total = 0;
  if (ids) {
    for (let j = 0; j < ids.length; j++) {
      const i = ids[j]!;
      total += w[i] = weight((a[i]! - m) * inv, fast);
    }
  } else if (fast) {
    for (let i = 0; i < a.length; i++) {
      const z = (a[i]! - m) * inv;
      total += w[i] = z < MIN_EXPONENT ? 0 : fastExp(z);
    }
  } else {
    for (let i = 0; i < a.length; i++) total += w[i] = weightOf((a[i]! - m) * inv);
  }
  return total;
}

/**
 * The nucleus: the shortest prefix of `ids` ranked by (a desc, id asc) whose weight reaches `target`, in id order.
 * Only tokens at or above a weight cutoff are ranked: the cutoff is lowered until they hold the target, and since
 * every token below it weighs less than every one above, the ranked prefix is the same as over all of `ids`. The
 * ranking is a native sort of their logits (ties weigh the same, so they need no order until the last step).
 * With a margin d > 0 (fast weights, each within `expError` of `Math.exp`'s) the walk's stop must clear the target by
 * d, else the row is undecided (null).
 */
function nucleus(
  a: Float32Array,
  w: Float64Array,
  ids: Int32Array | null,
  target: number,
  m: number,
  inv: number,
  d: number,
  expError: number,
) {
  const n = ids ? ids.length : a.length;
  const fast = d > 0;
  if (ranked.length < n) ranked = new Int32Array(n);
  let cutoff = ids ? 0 : 1e-3;
  let count = 0;
  let near = false;
  for (;;) {
    // Fast weights rank the same tokens as exact ones only if none lies within their error of the cutoff.
    const near0 = cutoff * (1 - 4 * expError);
    const near1 = cutoff * (1 + 4 * expError);
    let mass = 0;
    count = 0;
    near = false;
    for (let j = 0; j < n; j++) {
      const i = ids ? ids[j]! : j;
      const v = w[i]!;
      if (v >= cutoff) {
        mass += v;
        ranked[count++] = i;
      }
      if (v > near0 && v < near1) near = true;
    }
    if (fast && (near || Math.abs(mass - target) <= d)) return null;
    if (mass >= target || cutoff === 0) break;
    // SIMD weights do not flush exp(z < −80) to 0 (they are ~1e-35 there): no cutoff near those.
    if (fast && expError > FAST_EXP_ERROR && cutoff < 1e-30) return null;
    cutoff = cutoff < 1e-300 ? 0 : cutoff * 1e-3;
  }
  const values = new Float64Array(count);
  for (let k = 0; k < count; k++) values[k] = a[ranked[k]!]!;
  values.sort();
  // Walk down from the largest logit until the mass reaches the target: `threshold` is the smallest kept logit and
  // `ties` how many tokens of exactly that logit are kept (lowest ids first).
  let acc = 0;
  let threshold = values[count - 1]!;
  let ties = 0;
  let reached = false;
  for (let j = count - 1; j >= 0; j--) {
    const v = values[j]!;
    if (v !== threshold) {
      threshold = v;
      ties = 0;
    }
    ties++;
    acc += weight((v - m) * inv, fast);
    if (acc >= target + d) {
      reached = true;
      break;
    }
    if (fast && acc > target - d) return null;
  }
  if (fast && !reached) return null;
  // Kept tokens are among the ranked ones (ids in order) — unless exp is not monotone right at the cutoff (a weight
  // within rounding of it), where the whole row is scanned as the definition does.
  const scanned = near ? n : count;
  const kept = new Int32Array(scanned);
  let k = 0;
  for (let j = 0; j < scanned; j++) {
    const i = near ? (ids ? ids[j]! : j) : ranked[j]!;
    const v = a[i]!;
    if (v > threshold || (v === threshold && ties-- > 0)) kept[k++] = i;
  }
  return kept.subarray(0, k);
}

/**
 * The first of `kept` (every token when null, n of them) whose running weight exceeds t; with a margin d > 0 every
 * running sum must clear t by d (else {@link UNDECIDED}).
 */
function draw(w: Float64Array, kept: Int32Array | null, n: number, t: number, d: number): number {
  let acc = 0;
  for (let j = 0; j < n; j++) {
    const i = kept ? kept[j]! : j;
    acc += w[i]!;
    if (acc > t + d) return i;
    if (d > 0 && acc >= t - d) return UNDECIDED;
  }
  // Unreachable in float64 with exact weights (the last running sum is the mass itself, and uniform < 1).
  return d > 0 ? UNDECIDED : kept ? kept[n - 1]! : n - 1;
}

/** The first index of nondecreasing `s[0…n)` whose value exceeds `bound` (or equals it, when not `strict`); n if none. */
function firstAbove(s: Float64Array, n: number, bound: number, strict: boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? s[mid]! > bound : s[mid]! >= bound) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Every token a candidate, no nucleus, fast weights: one pass stores the running sums (the draw's own, in id order)
 * and a binary search finds the first that exceeds `uniform · total`, all sums clearing it by a margin.
 */
function drawAll(a: Float32Array, m: number, inv: number, uniform: number): number {
  const n = a.length;
  const s = scratch;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const z = (a[i]! - m) * inv;
    s[i] = acc += z < MIN_EXPONENT ? 0 : fastExp(z);
  }
  if (!Number.isFinite(acc)) return UNDECIDED;
  const t = uniform * acc;
  const d = sumErrorBound(n) * acc;
  // The first i with s[i] > t + d, and the first with s[i] >= t - d: the same index unless a sum is within d of t.
  const i = firstAbove(s, n, t + d, true);
  return i < n && firstAbove(s, n, t - d, false) === i ? i : UNDECIDED;
}

/** Weights of the row being sampled, reused across calls (a vocabulary of float64s per token would churn the GC). */
let scratch = new Float64Array(0);

/**
 * A SIMD weight's relative error bound: 2^f (`EXP2_64_ERROR`), the float64 argument (5e-14, draw-by-blocks.ts), and
 * the weights of tokens flushed to 0 by the definition (< 2^-115 each, under 1e-30 of a total of at least 1).
 */
const SIMD_WEIGHT_ERROR = EXP2_64_ERROR + 5e-14 + 1e-30;

/**
 * Every token's weight 2^((a − m)·inv·log2 e) from the float64 SIMD kernel (`weights64`), as a view of wasm memory
 * (read before the next kernel call), and their total; null where the kernels are unavailable or `a` holds a NaN.
 */
function simdWeights(a: Float32Array, m: number, inv: number): { w: Float64Array; total: number } | null {
  const wasm = wasmSampling();
  const padded = Math.ceil(a.length / BLOCK) * BLOCK;
  const need = 12 * padded;
  if (!wasm || need > WORK_BYTES || !ensureMemory(wasm.memory, need)) return null;
  const x = rowAddress(wasm.memory, a, a.length, BLOCK, Number.NEGATIVE_INFINITY);
  if (Number.isNaN(wasm.rowMax(x, 4 * padded))) return null; // the exponent bits assume no NaN
  const total = wasm.weights64(x, 4 * padded, m, inv * Math.LOG2E, 4 * padded);
  return { w: new Float64Array(wasm.memory.buffer, 4 * padded, a.length), total };
}

/** Row r's draw from adjusted logits `a` with the candidates `ids` (null: all) of maximum m, exact or fast. */
function drawRow(a: Float32Array, ids: Int32Array | null, m: number, rows: SamplingRows, r: number, fast: boolean) {
  const inv = 1 / rows.temperature[r]!;
  const topP = rows.topP[r]!;
  if (fast && !ids && topP === 1) return drawAll(a, m, inv, rows.uniform[r]!);
  // Weights: only the candidates' entries are written and read; a nucleus over every token takes them from SIMD.
  const simd = fast && !ids ? simdWeights(a, m, inv) : null;
  const w = simd ? simd.w : scratch;
  const expError = simd ? SIMD_WEIGHT_ERROR : FAST_EXP_ERROR;
  const total = simd ? simd.total : fillWeights(w, a, ids, m, inv, fast);
  if (fast && !Number.isFinite(total)) return UNDECIDED;
  const d = fast ? sumErrorBound(a.length, expError) * total : 0;
  const kept = topP < 1 ? nucleus(a, w, ids, topP * total, m, inv, d, expError) : ids;
  if (kept === null && topP < 1) return UNDECIDED;
  const n = kept ? kept.length : a.length;
  let mass = total;
  if (kept !== ids) {
    mass = 0;
    for (let j = 0; j < n; j++) mass += w[kept![j]!]!;
  }
  return draw(w, kept, n, rows.uniform[r]! * mass, d);
}

/** Row r's token, with fast weights first (see {@link sampleRow}) or with `Math.exp` only. */
function chooseToken(x: Float32Array, rows: SamplingRows, r: number, tryFast: boolean): number {
  // The row's logits with its entries applied, in place for the draw and put back after it (sampleTokens is
  // synchronous, and its log-probabilities read the raw logits).
  const adjusted = adjustInPlace(x, rows, r);
  try {
    return chooseAdjusted(x, rows, r, tryFast);
  } finally {
    restore(x, adjusted);
  }
}

/** {@link chooseToken} over logits `a` whose sparse entries are applied. */
function chooseAdjusted(a: Float32Array, rows: SamplingRows, r: number, tryFast: boolean): number {
  const temperature = rows.temperature[r]!;
  if (!(temperature > 0)) return firstMax(a, a.length);
  const k = rows.topK[r]!;
  // Every token a candidate and no nucleus: the SIMD draw first (draw-by-blocks.ts), when it can prove the token.
  if (tryFast && !(k > 0 && k < a.length) && rows.topP[r] === 1) {
    const id = drawByBlocks(a, temperature, rows.uniform[r]!);
    if (id !== NOT_PROVEN) return id;
  }
  if (scratch.length < a.length) scratch = new Float64Array(a.length);
  let ids: Int32Array | null = null;
  let m: number;
  if (k > 0 && k < a.length) {
    const best = topKByBlocks(a, k) ?? topKIndices(a, k);
    m = a[best[0]!]!; // the row's maximum, unless a logit is NaN (then the fast weights come out NaN)
    ids = best.sort();
  } else {
    m = a[firstMax(a, a.length)]!;
  }
  if (tryFast && Number.isFinite(m) && Number.isFinite(1 / temperature)) {
    const id = drawRow(a, ids, m, rows, r, true);
    if (id !== UNDECIDED) return id;
  }
  if (ids) m = a[firstMax(a, a.length)]!;
  return drawRow(a, ids, m, rows, r, false);
}

/**
 * The token chosen for row `r` of `rows` from its logits `x` ([vocab]); see the module comment. Rows without top-k
 * or top-p try the SIMD draw first (draw-by-blocks.ts: float32, then float64 block sums). Then weights come from
 * {@link fastExp}; when its error bound cannot exclude a different token (a running sum within about 4e-11 of the
 * total from the draw or nucleus threshold at vocab 32 000, or non-finite logits or weights), the row is drawn again
 * with `Math.exp`, the definition.
 */
export function sampleRow(x: Float32Array, rows: SamplingRows, r: number): number {
  return chooseToken(x, rows, r, true);
}

/** {@link sampleRow} with `Math.exp` weights only: the definition without the fast path (tests compare the two). */
export function sampleRowExact(x: Float32Array, rows: SamplingRows, r: number): number {
  return chooseToken(x, rows, r, false);
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
    const best = topKByBlocks(x, n) ?? topKIndices(x, n);
    // Log-probabilities from fast weights' bounds on the log-sum-exp when every float32 output rounds the same at
    // both ends (then it is the exact one: rounding is monotone); else from the exact sum.
    const bounds = logSumExpBounds(x);
    let lse = bounds ? bounds[0] : logSumExp(x);
    if (bounds) {
      const hi = bounds[1];
      let same = Math.fround(x[ids[r]!]! - lse) === Math.fround(x[ids[r]!]! - hi);
      for (let j = 0; j < n && same; j++) same = Math.fround(x[best[j]!]! - lse) === Math.fround(x[best[j]!]! - hi);
      if (!same) lse = logSumExp(x);
    }
    lp[r] = x[ids[r]!]! - lse;
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
