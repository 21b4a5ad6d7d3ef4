/**
 * Bootstrap confidence intervals of a scaling-law fit: refit on resamples of the points drawn with replacement and
 * take percentiles of each parameter (Efron's percentile interval), as Hoffmann et al. 2022 do for their exponents.
 *
 * @module
 */
import type { ScalingLaw } from './law.js';
import {
  chinchillaInitialisationGrid,
  type FitOptions,
  fitScalingLaw,
  type LogLawParameters,
  type LossPoint,
  parametersFromLaw,
  rankStarts,
  type ScalingLawFit,
} from './parametric-fit.js';

/** A `[low, high]` interval per law parameter. */
export type LawIntervals = { [K in keyof ScalingLaw]: [number, number] };

/** Options of {@link bootstrapFit}. */
export interface BootstrapOptions extends FitOptions {
  /** Uniform numbers in [0, 1): the caller's seeded generator (e.g. `seededUniform(seed)` of @andes/tensor). */
  random: () => number;
  /** Resamples. Default 200. */
  samples?: number;
  /** Coverage of the interval. Default 0.95 (2.5th to 97.5th percentile). */
  level?: number;
  /** Starts per resample, besides the full fit: the best of the start grid for the full data. Default 8. */
  startsPerSample?: number;
}

/** A fit with its bootstrap intervals. */
export interface ScalingLawFitWithIntervals extends ScalingLawFit {
  /** Percentile intervals of each parameter over the resamples. */
  ci: LawIntervals;
  /** Interval coverage, e.g. 0.95. */
  level: number;
  /** Resamples that were fitted. */
  samples: number;
}

/** The `q`-quantile (0–1) of sorted values, linearly interpolated. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Fits `points` and bootstraps intervals for E, A, B, α, β. Each resample starts L-BFGS from the full fit and from the
 * few grid starts that were best on the full data (the whole 4500-point grid per resample would be slow for no gain:
 * a resample's optimum lies near the full fit's).
 */
export function bootstrapFit(points: readonly LossPoint[], options: BootstrapOptions): ScalingLawFitWithIntervals {
  const fit = fitScalingLaw(points, options);
  const samples = options.samples ?? 200;
  const level = options.level ?? 0.95;
  const grid = options.starts ?? chinchillaInitialisationGrid();
  const starts: LogLawParameters[] = [
    parametersFromLaw(fit),
    ...rankStarts(points, grid, options.startsPerSample ?? 8, options.delta ?? 1e-3),
  ];
  const draws: { [K in keyof ScalingLaw]: number[] } = { E: [], A: [], B: [], alpha: [], beta: [] };
  for (let s = 0; s < samples; s++) {
    const resample = points.map(
      () => points[Math.min(points.length - 1, Math.floor(options.random() * points.length))]!,
    );
    const refit = fitScalingLaw(resample, { ...options, starts, bestStarts: starts.length });
    for (const key of Object.keys(draws) as (keyof ScalingLaw)[]) draws[key].push(refit[key]);
  }
  const tail = (1 - level) / 2;
  const ci = {} as LawIntervals;
  for (const key of Object.keys(draws) as (keyof ScalingLaw)[]) {
    const sorted = draws[key].filter(Number.isFinite).sort((a, b) => a - b);
    ci[key] = [quantile(sorted, tail), quantile(sorted, 1 - tail)];
  }
  return { ...fit, ci, level, samples };
}
