/**
 * Prefill first: when the scheduler runs waiting prompts in a step of their own, ahead of the running decodes.
 *
 * A request's time to first token is the rest of the step in flight when it arrives plus the step that holds its
 * prompt. Mixed into a decode step, that step carries every running sequence's decode row beside the prompt; alone,
 * it carries the prompt only, so the new request's first token waits for its own rows and not for a batch's. The
 * price is paid by the running decodes (their next token waits for the prefill-only step) and by throughput (one
 * more step's fixed cost).
 *
 * `always` (the `prefillFirst: true` policy) runs every step that has prompts to prefill alone, but never two in a
 * row. `adaptive` bounds what the decodes pay instead of counting steps: a prefill-only step runs when its predicted
 * cost, added to what the decodes have already waited since their last step, stays within `ADAPTIVE_WAIT_STEPS`
 * predicted decode steps, and only with the prompts it finishes (a prefill-only step that draws no first token only
 * delays the decodes); otherwise the prompts go beside the decodes as without prefill first. So prompts arriving one
 * after another each get a step of their own while the decodes wait a bounded time, and a long prompt or a large
 * burst, whose prefill would cost more than that, is mixed with the decodes instead of stalling them. The bound is
 * 3 from the simulation in bench/sched-sim.mjs (apps/serve/BENCHMARKS.md): at 1 it gains nothing over no prefill
 * first (TTFT p95 as without it), at 3 it is as good as prefill-only steps without any bound, beyond it changes
 * nothing measurable. Two more conditions keep it from costing more than it brings: the step alone must bring the
 * first tokens `ADAPTIVE_MIN_SPEEDUP` times sooner than the mixed step would (not so where a step's cost is mostly
 * fixed), and no request may be waiting for a slot (its first token then waits for throughput, which the scheduler
 * checks before asking). Until the step costs are fitted, adaptive mixes.
 *
 * The prediction needs what a row costs by kind: a decode row goes through the output projection (the vocabulary,
 * the largest product of a small model) and the sampler, a prompt row only through the layers but for the last row
 * of its chunk. `ChunkCostModel` fits `ms ≈ fixed + perChunk · chunks + perRow · rows` (no term negative), so that
 * a prefill-only step of one 20-row prompt is not priced as 20 decodes (on the CPU backend a prompt row costs about
 * half a decode row, on lavapipe about a third).
 *
 * @module
 */
import { sharePrefill } from './prefill-budget.js';

/** The decodes' wait for their next token an adaptive prefill-only step may bring about, in predicted decode steps. */
export const ADAPTIVE_WAIT_STEPS = 3;

/**
 * How many times sooner an adaptive prefill-only step must bring its prompts' first tokens than the step mixing them
 * with the decodes would (both predicted). Where a step costs about the same whatever its rows (a GPU reading every
 * weight once per step), prompts beside the decodes come about as soon as alone, and a step of their own would only
 * stall the decodes; on lavapipe a short prompt alone took 26 ms against 43 ms beside 3 decodes and ~55 ms beside 15.
 */
export const ADAPTIVE_MIN_SPEEDUP = 1.5;

/** Which prefill-first policy a scheduler runs: off (`false`), `true` (always, never twice in a row), `'adaptive'`. */
export type PrefillFirstPolicy = boolean | 'adaptive';

/**
 * Online least-squares fit of a step's wall time against its chunks (each computes one row of logits) and its rows:
 * `ms ≈ fixed + perChunk · chunks + perRow · rows`, with exponential forgetting so that it follows the machine's load.
 */
export class ChunkCostModel {
  /** Weighted sums of x·xᵀ (x = [1, chunks, rows]), row-major 3 × 3, and of x·ms. */
  private readonly xx = new Float64Array(9);
  private readonly xy = new Float64Array(3);

  /** `decay` in (0, 1]: the weight an observation keeps per later observation (default 0.95, ~20 steps). */
  constructor(readonly decay = 0.95) {
    if (!(decay > 0 && decay <= 1)) throw new Error(`ChunkCostModel: decay ${decay} must be in (0, 1]`);
  }

  /** Records one step of `chunks` chunks and `rows` rows in all that took `ms` milliseconds. */
  observe(chunks: number, rows: number, ms: number): void {
    if (!(chunks > 0) || !(rows >= chunks) || !Number.isFinite(ms) || ms < 0) return;
    const x = [1, chunks, rows];
    for (let i = 0; i < 3; i++) {
      this.xy[i] = this.xy[i]! * this.decay + x[i]! * ms;
      for (let j = 0; j < 3; j++) this.xx[i * 3 + j] = this.xx[i * 3 + j]! * this.decay + x[i]! * x[j]!;
    }
  }

  /**
   * The fitted `{ fixed, perChunk, perRow }` in milliseconds, none negative (least squares under that constraint),
   * or null while the steps seen do not determine them (steps of at least three independent shapes are needed,
   * e.g. decode-only steps of two sizes and a prefill). Why the constraint: where a step costs about the same
   * whatever its rows (a GPU reading every weight once per step), the plain fit of a per-row cost is noise around
   * zero, half the time below it; the best fit without that term is then what the steps say.
   */
  fit(): { fixed: number; perChunk: number; perRow: number } | null {
    const a = this.xx;
    // The determinant of the scaled matrix (a correlation-like matrix) measures how well the seen shapes separate
    // the three terms.
    if (!(a[0]! > 0) || !(Math.abs(det(a, [0, 1, 2])) > 1e-9 * a[0]! * a[4]! * a[8]!)) return null;
    // Non-negative least squares by its supports: the optimum is the unconstrained fit on the support it leaves
    // positive, so the best of the non-negative fits over every support (seven of them) is the optimum.
    let best: number[] | null = null;
    let bestLoss = Infinity;
    for (const support of SUPPORTS) {
      const beta = solveOn(a, this.xy, support);
      if (!beta || beta.some((v) => v < 0)) continue;
      // Squared error up to the constant Σ ms²: βᵀAβ − 2βᵀb.
      let loss = 0;
      for (let i = 0; i < 3; i++) {
        loss -= 2 * beta[i]! * this.xy[i]!;
        for (let j = 0; j < 3; j++) loss += beta[i]! * a[i * 3 + j]! * beta[j]!;
      }
      if (loss < bestLoss) {
        bestLoss = loss;
        best = beta;
      }
    }
    if (!best) return null;
    return { fixed: best[0]!, perChunk: best[1]!, perRow: best[2]! };
  }

  /** Predicted milliseconds of a step of `chunks` chunks and `rows` rows (NaN without a fit). */
  predict(chunks: number, rows: number): number {
    const f = this.fit();
    return f ? stepMs(f, chunks, rows) : Number.NaN;
  }
}

/** Milliseconds that fit `f` gives a step of `chunks` chunks and `rows` rows. */
function stepMs(f: { fixed: number; perChunk: number; perRow: number }, chunks: number, rows: number): number {
  return f.fixed + f.perChunk * chunks + f.perRow * rows;
}

/** The supports a non-negative fit of [fixed, perChunk, perRow] can have (the fixed cost alone included). */
const SUPPORTS: readonly (readonly number[])[] = [[0, 1, 2], [0, 1], [0, 2], [1, 2], [0], [1], [2]];

/** Determinant of the submatrix of the 3 × 3 row-major `a` on rows and columns `idx` (1 to 3 of them). */
function det(a: ArrayLike<number>, idx: readonly number[]): number {
  const m = (i: number, j: number) => a[idx[i]! * 3 + idx[j]!]!;
  if (idx.length === 1) return m(0, 0);
  if (idx.length === 2) return m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0);
  return (
    m(0, 0) * (m(1, 1) * m(2, 2) - m(1, 2) * m(2, 1)) -
    m(0, 1) * (m(1, 0) * m(2, 2) - m(1, 2) * m(2, 0)) +
    m(0, 2) * (m(1, 0) * m(2, 1) - m(1, 1) * m(2, 0))
  );
}

/**
 * The least-squares fit with only the terms in `support` (the others 0), from the normal equations `a·β = b` on those
 * rows and columns (Cramer's rule), as a full 3-vector; null when they are singular.
 */
function solveOn(a: ArrayLike<number>, b: ArrayLike<number>, support: readonly number[]): number[] | null {
  const d = det(a, support);
  if (!(Math.abs(d) > 0)) return null;
  const beta = [0, 0, 0];
  for (const col of support) {
    // `a` with column `col` replaced by b, read on the support's rows and columns.
    const m = Array.from(a);
    for (const row of support) m[row * 3 + col] = b[row]!;
    beta[col] = det(m, support) / d;
  }
  return beta;
}

/**
 * The prompt rows an adaptive prefill-only step may take, or 0 when the prompts should go beside the decodes: the
 * most rows that finish whole prompts (`pending`: rows left per prompt, oldest first, shared as `sharePrefill`
 * shares them) and whose predicted cost, added to the `waitedMs` that the `decodes` running decodes have already
 * waited since their last step, stays within `waitSteps` predicted steps of those decodes, and is at most
 * 1 / `minSpeedup` of the predicted step holding those prompts beside the decodes; 0 when not even the shortest
 * prompt qualifies, and when no decodes are running (every step is prefill-only then). Null before `cost` has a fit.
 */
export function adaptivePrefillRows(
  cost: ChunkCostModel,
  decodes: number,
  waitedMs: number,
  pending: readonly number[],
  waitSteps = ADAPTIVE_WAIT_STEPS,
  minSpeedup = ADAPTIVE_MIN_SPEEDUP,
): number | null {
  if (decodes <= 0 || pending.length === 0) return 0;
  // Fitted once for every prediction below (each fit solves the normal equations on seven supports).
  const f = cost.fit();
  if (!f) return null;
  const decodeMs = waitSteps * stepMs(f, decodes, decodes);
  const shortest = [...pending].sort((a, b) => a - b);
  let best = 0;
  let rows = 0;
  for (let k = 1; k <= shortest.length; k++) {
    rows += shortest[k - 1]!;
    const alone = stepMs(f, k, rows);
    if (Math.max(0, waitedMs) + alone > decodeMs) break;
    // More prompts only bring the two steps' costs closer (the same rows added to both).
    if (alone * minSpeedup > stepMs(f, decodes + k, decodes + rows)) break;
    // The oldest prompt's quarter of the budget may leave a short one unfinished: take only budgets that finish one.
    if (sharePrefill(pending, rows).some((n, i) => n === pending[i])) best = rows;
  }
  return best;
}
