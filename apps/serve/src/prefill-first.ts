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
 * checks before asking).
 *
 * The prediction needs what a row costs by kind: a decode row goes through the output projection (the vocabulary,
 * the largest product of a small model) and the sampler, a prompt row only through the layers but for the last row
 * of its chunk. `ChunkCostModel` fits `ms ≈ fixed + perChunk · chunks + perRow · rows`, so that a prefill-only step
 * of one 20-row prompt is not priced as 20 decodes (on the CPU backend a prompt row costs about half a decode row,
 * on lavapipe about a third).
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
   * The fitted `{ fixed, perChunk, perRow }` in milliseconds, or null while the steps seen do not determine them
   * (steps of at least three independent shapes are needed, e.g. decode-only steps of two sizes and a prefill) or
   * the fit gives a negative cost.
   */
  fit(): { fixed: number; perChunk: number; perRow: number } | null {
    const a = this.xx;
    // Solve by Cramer's rule; the determinant of the scaled matrix (a correlation-like matrix) measures how well the
    // seen shapes separate the three terms.
    const det3 = (m: ArrayLike<number>) =>
      m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) -
      m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) +
      m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
    const d = det3(a);
    if (!(a[0]! > 0) || !(Math.abs(d) > 1e-9 * a[0]! * a[4]! * a[8]!)) return null;
    const solve = (col: number) => {
      const m = Array.from(a);
      for (let i = 0; i < 3; i++) m[i * 3 + col] = this.xy[i]!;
      return det3(m) / d;
    };
    const [fixed, perChunk, perRow] = [solve(0), solve(1), solve(2)];
    const tolerance = -1e-9 * (Math.abs(fixed) + Math.abs(perChunk) + Math.abs(perRow));
    if (fixed < tolerance || perChunk < tolerance || perRow < tolerance) return null;
    return { fixed: Math.max(0, fixed), perChunk: Math.max(0, perChunk), perRow: Math.max(0, perRow) };
  }

  /** Predicted milliseconds of a step of `chunks` chunks and `rows` rows (NaN without a fit). */
  predict(chunks: number, rows: number): number {
    const f = this.fit();
    return f ? f.fixed + f.perChunk * chunks + f.perRow * rows : Number.NaN;
  }
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
  if (!cost.fit()) return null;
  const decodeMs = waitSteps * cost.predict(decodes, decodes);
  const shortest = [...pending].sort((a, b) => a - b);
  let best = 0;
  let rows = 0;
  for (let k = 1; k <= shortest.length; k++) {
    rows += shortest[k - 1]!;
    const alone = cost.predict(k, rows);
    if (Math.max(0, waitedMs) + alone > decodeMs) break;
    // More prompts only bring the two steps' costs closer (the same rows added to both).
    if (alone * minSpeedup > cost.predict(decodes + k, decodes + rows)) break;
    // The oldest prompt's quarter of the budget may leave a short one unfinished: take only budgets that finish one.
    if (sharePrefill(pending, rows).some((n, i) => n === pending[i])) best = rows;
  }
  return best;
}
