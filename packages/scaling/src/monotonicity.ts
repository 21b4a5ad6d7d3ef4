/**
 * The sanity checks a scaling sweep should pass before anyone fits a law to it: at (nearly) fixed D the loss falls as
 * N grows, and at fixed N it falls as D grows.
 *
 * @module
 */
import type { LossPoint } from './parametric-fit.js';

/** One comparison of two runs that differ in one variable. */
export interface MonotonicityPair {
  /** The variable that grows from `smaller` to `larger`. */
  varies: 'params' | 'tokens';
  smaller: LossPoint;
  larger: LossPoint;
  /** True when the loss fell (or tied) from `smaller` to `larger`. */
  holds: boolean;
}

/**
 * Every pair of points whose other variable agrees within a factor `tolerance` (D is rounded to whole optimizer steps,
 * so an IsoFLOP grid has "the same D" only approximately) and whose varied variable differs by more than it.
 */
export function monotonicityPairs(points: readonly LossPoint[], tolerance = 1.3): MonotonicityPair[] {
  const pairs: MonotonicityPair[] = [];
  for (const varies of ['params', 'tokens'] as const) {
    const fixed = varies === 'params' ? 'tokens' : 'params';
    for (const p of points)
      for (const q of points) {
        if (!(q[varies] > p[varies] * tolerance)) continue;
        const ratio = q[fixed] / p[fixed];
        if (ratio > tolerance || ratio < 1 / tolerance) continue;
        pairs.push({ varies, smaller: p, larger: q, holds: q.loss <= p.loss });
      }
  }
  return pairs;
}
