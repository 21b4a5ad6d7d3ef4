/**
 * Learning-rate schedules: pure functions from a 0-based optimizer step to a learning rate.
 *
 * @module
 */

/** A learning-rate schedule: maps the 0-based step index (the step about to be taken) to a learning rate. */
export type LrSchedule = (step: number) => number;

/** Options of {@link cosineSchedule}. */
export interface CosineScheduleOptions {
  /** Peak learning rate, reached at the end of warmup. */
  peakLr: number;
  /** Steps of linear warmup (the LLaMA paper: 2000). */
  warmupSteps: number;
  /** Step at which the cosine reaches the floor; later steps stay at the floor. */
  totalSteps: number;
  /** Floor as a fraction of the peak (the LLaMA paper: 0.1). Ignored when `minLr` is given. */
  minLrRatio?: number;
  /** Absolute floor. */
  minLr?: number;
}

function checkStep(name: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) throw new Error(`${name}: step must be a non-negative integer, got ${step}`);
}

/**
 * Linear warmup then cosine decay to a floor, the LLaMA paper's schedule (2000 warmup steps, floor 10% of the peak).
 * `lr(s) = peak·(s+1)/warmup` for `s < warmup` (so the first step is not wasted at lr 0 and step `warmup-1` is at the
 * peak); then `floor + (peak − floor)·½(1 + cos(π·(s − warmup)/(total − warmup)))`; `floor` from `total` on.
 *
 * @example
 * ```ts
 * const lr = cosineSchedule({ peakLr: 3e-4, warmupSteps: 2000, totalSteps: 100_000, minLrRatio: 0.1 });
 * lr(1999); // 3e-4
 * lr(100_000); // 3e-5
 * ```
 */
export function cosineSchedule(options: CosineScheduleOptions): LrSchedule {
  const { peakLr, warmupSteps, totalSteps } = options;
  const floor = options.minLr ?? peakLr * (options.minLrRatio ?? 0.1);
  if (!(peakLr >= 0)) throw new Error(`cosineSchedule: peakLr must be >= 0, got ${peakLr}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new Error(`cosineSchedule: warmupSteps must be a non-negative integer, got ${warmupSteps}`);
  }
  if (!Number.isInteger(totalSteps) || totalSteps < warmupSteps) {
    throw new Error(`cosineSchedule: totalSteps (${totalSteps}) must be an integer >= warmupSteps (${warmupSteps})`);
  }
  if (!(floor >= 0 && floor <= peakLr)) {
    throw new Error(`cosineSchedule: floor ${floor} must lie in [0, peakLr=${peakLr}]`);
  }
  return (step) => {
    checkStep('cosineSchedule', step);
    if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
    if (step >= totalSteps) return floor;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    return floor + (peakLr - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** The same learning rate at every step. */
export function constantSchedule(lr: number): LrSchedule {
  if (!(lr >= 0)) throw new Error(`constantSchedule: lr must be >= 0, got ${lr}`);
  return (step) => {
    checkStep('constantSchedule', step);
    return lr;
  };
}

/** Options of {@link linearSchedule}. */
export interface LinearScheduleOptions {
  /** Peak learning rate, reached at the end of warmup. */
  peakLr: number;
  /** Steps of linear warmup (0 for none). */
  warmupSteps?: number;
  /** Step at which the decay reaches `endLr`. */
  totalSteps: number;
  /** Final learning rate (default 0). */
  endLr?: number;
}

/**
 * Linear warmup (as in {@link cosineSchedule}) then a straight line from `peakLr` at `warmupSteps` to `endLr` at
 * `totalSteps`, constant afterwards.
 */
export function linearSchedule(options: LinearScheduleOptions): LrSchedule {
  const { peakLr, totalSteps } = options;
  const warmupSteps = options.warmupSteps ?? 0;
  const endLr = options.endLr ?? 0;
  if (!Number.isInteger(totalSteps) || totalSteps < warmupSteps || warmupSteps < 0) {
    throw new Error(`linearSchedule: need 0 <= warmupSteps (${warmupSteps}) <= totalSteps (${totalSteps}), integers`);
  }
  return (step) => {
    checkStep('linearSchedule', step);
    if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
    if (step >= totalSteps) return endLr;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    return peakLr + (endLr - peakLr) * progress;
  };
}
