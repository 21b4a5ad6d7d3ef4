/**
 * How many prompt tokens a scheduler step may prefill, and how they are shared between the prompts being prefilled.
 *
 * A step's cost grows with its rows (one per decode, one per prompt token), so an unbounded prefill stalls every
 * running decode behind it (inter-token latency) and every later arrival (time to first token). `StepCostModel`
 * learns `milliseconds ≈ fixed + perRow · rows` from the steps it is shown (least squares with exponential
 * forgetting, so it follows the machine's load); the scheduler gives prefill the rows that fit a step target beside
 * the decodes. `sharePrefill` then splits those rows between the prefilling prompts shortest remaining first, so a
 * short prompt finishes its prefill at once instead of waiting behind a long one, and a burst of similar prompts
 * finishes one after another rather than all together at the end (which an equal share would do), while the
 * oldest prompt keeps a quarter of the budget so that it is never starved.
 *
 * @module
 */

/** Prompt tokens prefilled between two decode steps unless configured (`--prefill-chunk`, `prefillChunk`). */
export const DEFAULT_PREFILL_CHUNK = 512;

/** Online fit of step wall time against rows: `ms ≈ fixed + perRow · rows`. */
export class StepCostModel {
  // Exponentially weighted sums for the least-squares line.
  private w = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private sxy = 0;

  /** `decay` in (0, 1]: the weight an observation keeps per later observation (default 0.95, ~20 steps). */
  constructor(readonly decay = 0.95) {
    if (!(decay > 0 && decay <= 1)) throw new Error(`StepCostModel: decay ${decay} must be in (0, 1]`);
  }

  /** Records one step of `rows` rows that took `ms` milliseconds. */
  observe(rows: number, ms: number): void {
    if (!(rows > 0) || !Number.isFinite(ms) || ms < 0) return;
    const d = this.decay;
    this.w = this.w * d + 1;
    this.sx = this.sx * d + rows;
    this.sy = this.sy * d + ms;
    this.sxx = this.sxx * d + rows * rows;
    this.sxy = this.sxy * d + rows * ms;
  }

  /**
   * The fitted `{ fixed, perRow }` in milliseconds, or null until steps of at least two different sizes were seen
   * (a line needs two). `perRow` is at least a thousandth of the mean cost per row, so the fit never claims that
   * rows are free.
   */
  fit(): { fixed: number; perRow: number } | null {
    if (this.w === 0) return null;
    const mx = this.sx / this.w;
    const my = this.sy / this.w;
    const vx = this.sxx / this.w - mx * mx;
    if (vx <= 1e-9 * mx * mx || vx <= 1e-12) return null;
    const slope = (this.sxy / this.w - mx * my) / vx;
    const perRow = Math.max(slope, (1e-3 * my) / mx);
    return { fixed: Math.max(0, my - perRow * mx), perRow };
  }

  /** Predicted milliseconds of a step of `rows` rows (NaN before a fit exists). */
  predict(rows: number): number {
    const f = this.fit();
    return f ? f.fixed + f.perRow * rows : Number.NaN;
  }

  /** The most rows a step beside `decodeRows` decodes may add within `targetMs` (Infinity before a fit exists). */
  rowsBeside(decodeRows: number, targetMs: number): number {
    const f = this.fit();
    if (!f) return Number.POSITIVE_INFINITY;
    return Math.max(0, Math.floor((targetMs - f.fixed - f.perRow * decodeRows) / f.perRow));
  }
}

/**
 * Splits `budget` prompt tokens between prompts with `pending[i]` tokens left to prefill, given oldest first:
 * shortest remaining first (ties: the older first), which finishes the most prefills, and so draws the most first
 * tokens, per step; except that the oldest prompt always gets at least a quarter of the budget, so a stream of
 * short arrivals cannot starve a long prompt. Returns the tokens per prompt in the order of `pending`; they sum to
 * `min(budget, Σ pending)`.
 */
export function sharePrefill(pending: readonly number[], budget: number): number[] {
  const out = pending.map(() => 0);
  let left = Math.max(0, Math.floor(budget));
  if (pending.length === 0) return out;
  out[0] = Math.min(pending[0]!, Math.ceil(left / 4));
  left -= out[0];
  const order = pending.map((_, i) => i).sort((a, b) => pending[a]! - out[a]! - (pending[b]! - out[b]!) || a - b);
  for (const i of order) {
    const n = Math.min(pending[i]! - out[i]!, left);
    out[i]! += n;
    left -= n;
  }
  return out;
}
