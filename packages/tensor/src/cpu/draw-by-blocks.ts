/**
 * The temperature draw of the CPU `sampleTokens` kernel (every token a candidate, no nucleus) on the SIMD kernels of
 * wasm-sampling.ts: float32 weights summed per block of 64 tokens; the block whose running sum crosses
 * `uniform · total` is then resolved with float64 weights. The token is returned only when an error bound proves that
 * the definition (float64 `Math.exp` weights, sample-tokens.ts) picks the same one; otherwise the caller falls back
 * to its float64 paths.
 *
 * Error analysis, per token with definition weight W = exp(z), z = (x − m)·(1/T) in float64, y* = z·log2 e:
 * - the argument: c = fround(log2 e / T) and two float32 roundings give y = y*·(1 + θ), |θ| ≤ 3.001·2^-24, so the
 *   weight's relative error from it is at most κ·|y|, κ = 3.01·2^-24·ln 2 < 1.25e-7 ({@link ARGUMENT_ERROR}); summed
 *   over the row at most κ·|Σ w·y| (the kernel's last output; W·|y| ≤ w·|y|·(1 + 2e-5) and the float32 partial sums
 *   of w·y lose under 1e-6), the same absolute bound for every running sum;
 * - 2^f: relative {@link EXP2_ERROR} (~2.3e-7: interpolation, coefficient and Horner rounding, wasm-sampling.ts);
 * - flushed tokens (z < −80, weight 0 in the definition, y < −115.4) and the padding weigh < 2^-115 each here;
 * - sums: pairs of float32 (≤ 2·2^-24 relative, all terms positive), then float64 (≤ (n + 2)·2^-53 of the total, as
 *   the definition's own running sums).
 * So every running sum s' here and the definition's s obey |s' − s| ≤ ε·s + E (ε relative, E absolute, both per
 * row), and with t' = uniform · total', the token is the first whose s' exceeds t' + d, all earlier ones below
 * t' − d, for d = 2.02·(ε·t' + E)/(1 − ε): then the definition's sums cross t = uniform · total at the same token.
 * A near-flat row of 32 000 (random weights) has sums ~1/32 000 of the total apart, about d: 2–5 % of such rows are
 * undecided in float32 (a peaked row almost never is); those are drawn again from the float64 kernel's block sums
 * (same rule, ε ≈ 8e-11 + the float64 sums, E = the flushed tokens), ~2.5× the float32 pass but still ~3× cheaper
 * than the JS float64 draw, and undecided there about 2·ε·32 000 ≈ 1e-5 of the time.
 *
 * @module
 */

import { EXP2_64_ERROR, EXP2_ERROR } from './exp2-polynomial.js';
import { fastExp, MIN_EXPONENT, sumErrorBound } from './sample-tokens-exp.js';
import { ensureMemory, rowAddress, WORK_BYTES } from './wasm-heap.js';
import { BLOCK, U32, wasmSampling } from './wasm-sampling.js';

/** κ: a weight's relative error from its float32 argument is at most κ·|y| (see the module comment). */
export const ARGUMENT_ERROR = 1.25e-7;
/**
 * The float64 kernel's per-weight relative error besides 2^f: its argument (x − m)·c in float64, c = log2 e / T,
 * three roundings of 2^-53 times |y| ≤ 115.5, under 5e-14 (x − m of two float32s is exact or rounds once).
 */
const ARGUMENT_ERROR_64 = 5e-14;

/** What {@link drawByBlocks} returns when it cannot prove the definition's token (or cannot run). */
export const NOT_PROVEN = -1;

/**
 * Row `a`'s token at `temperature` for `uniform` when every token is a candidate (no top-k, no top-p): the first
 * whose running weight exceeds `uniform` · total, as the definition (sample-tokens.ts) picks it, or
 * {@link NOT_PROVEN} when neither the float32 weights' nor then the float64 weights' error bound can exclude another
 * token, a logit is NaN or +∞, or the kernels are unavailable. `marginScale` scales the decision margins: tests pass
 * 0 to show that they are needed.
 */
export function drawByBlocks(a: Float32Array, temperature: number, uniform: number, marginScale = 1): number {
  const wasm = wasmSampling();
  const n = a.length;
  const padded = Math.ceil(n / BLOCK) * BLOCK;
  const blocks = padded / BLOCK;
  const bytes = 4 * padded;
  const inv = 1 / temperature;
  const c = Math.fround(inv * Math.LOG2E);
  // c must be a normal float32 (its rounding is then relative) and every weight finite.
  if (!wasm || !(c >= 2 ** -126 && c < Number.POSITIVE_INFINITY) || bytes + 8 * (blocks + 1) > WORK_BYTES) {
    return NOT_PROVEN;
  }
  if (!ensureMemory(wasm.memory, bytes + 8 * (blocks + 1))) return NOT_PROVEN;
  // The row in place where it lives in wasm memory, else copied to 0 (its sums go after a copy's room either way).
  const x = rowAddress(wasm.memory, a, n, BLOCK, Number.NEGATIVE_INFINITY);
  const m = wasm.rowMax(x, bytes);
  if (!Number.isFinite(m)) return NOT_PROVEN;
  const flushed = padded * 2 ** -114; // tokens of weight 0 in the definition weigh < 2^-115 here
  wasm.blockWeights(x, bytes, m, c, bytes);
  let sums = new Float64Array(wasm.memory.buffer, bytes, blocks + 1);
  const argument = ARGUMENT_ERROR * -sums[blocks]!;
  const first = decide(
    a,
    m,
    inv,
    sums,
    uniform,
    EXP2_ERROR + 2.0001 * U32 + sumErrorBound(padded),
    argument + flushed,
    marginScale,
  );
  if (first !== NOT_PROVEN) return first;
  // Second try in float64 (the row is where it was): undecided only within ~1e-10 of the total from a running sum.
  wasm.blockWeights64(x, bytes, m, inv * Math.LOG2E, bytes);
  sums = new Float64Array(wasm.memory.buffer, bytes, blocks);
  return decide(
    a,
    m,
    inv,
    sums,
    uniform,
    EXP2_64_ERROR + ARGUMENT_ERROR_64 + sumErrorBound(padded),
    flushed,
    marginScale,
  );
}

/**
 * The draw from block sums `sums` ([blocks] and beyond) of weights whose every running sum s' and the definition's s
 * obey |s' − s| ≤ eps·s + absolute (see the module comment), or {@link NOT_PROVEN}.
 */
function decide(
  a: Float32Array,
  m: number,
  inv: number,
  sums: Float64Array,
  uniform: number,
  eps: number,
  absolute: number,
  marginScale: number,
): number {
  const n = a.length;
  const blocks = Math.ceil(n / BLOCK);
  let total = 0;
  for (let b = 0; b < blocks; b++) total += sums[b]!;
  if (!Number.isFinite(total)) return NOT_PROVEN; // a guard: rowMax excluded NaN, and each weight is below √2
  const t = uniform * total;
  const d = (marginScale * 2.02 * (eps * t + absolute)) / (1 - eps);
  // The first block whose end sum clears t + d; every earlier block end (so every earlier running sum) below t − d
  // (before the first block there is none: its empty prefix is exactly 0).
  let before = 0;
  let b = 0;
  for (; b < blocks; b++) {
    const end = before + sums[b]!;
    if (end > t + d) break;
    before = end;
  }
  if (b === blocks || (b > 0 && before >= t - d)) return NOT_PROVEN;
  // Inside the block, the definition's float64 weights (fastExp: within 5e-14, inside either margin).
  let acc = before;
  for (let i = b * BLOCK; i < Math.min(n, (b + 1) * BLOCK); i++) {
    const z = (a[i]! - m) * inv;
    acc += z < MIN_EXPONENT ? 0 : fastExp(z);
    if (acc > t + d) return i;
    if (acc >= t - d) return NOT_PROVEN;
  }
  return NOT_PROVEN;
}
