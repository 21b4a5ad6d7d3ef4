/**
 * What `fit` and the sweep report compute from a set of runs: the approach-3 fit with bootstrap intervals, the
 * IsoFLOP minima and frontier (approach 2), N*(C) and D*(C) at each budget under the fit and under Chinchilla's, and
 * the monotonicity checks. Glue only: every formula is in @andes/scaling.
 *
 * @module
 */

import {
  bootstrapFit,
  CHINCHILLA,
  type ComputeOptimum,
  computeOptimal,
  groupByBudget,
  type IsoflopFrontier,
  type IsoflopMinimum,
  isoflopFrontier,
  isoflopMinima,
  type MonotonicityPair,
  monotonicityPairs,
  type ScalingLawFitWithIntervals,
} from '@andes/scaling';
import { seededUniform } from '@andes/tensor';
import { ConfigError } from './config.js';
import { formatCount } from './plan.js';
import type { RunResult } from './run-results.js';

/** Options of {@link analyseScaling}. */
export interface AnalysisOptions {
  /** Bootstrap resamples. Default 200. */
  samples?: number;
  /** Seed of the bootstrap resampling. Default 0. */
  seed?: number;
}

/** Everything a scaling report shows. */
export interface ScalingAnalysis {
  runs: RunResult[];
  fit: ScalingLawFitWithIntervals;
  minima: IsoflopMinimum[];
  frontier: IsoflopFrontier | null;
  /** Per budget: the fit's optimum and Chinchilla's published fit's optimum. */
  optima: { flops: number; fitted: ComputeOptimum; chinchilla: ComputeOptimum }[];
  pairs: MonotonicityPair[];
}

/** Runs the analysis; needs at least 5 runs (five parameters). */
export function analyseScaling(runs: RunResult[], options: AnalysisOptions = {}): ScalingAnalysis {
  if (runs.length < 5)
    throw new ConfigError(`fit: need at least 5 finished runs to fit 5 parameters, got ${runs.length}`);
  const fit = bootstrapFit(runs, { random: seededUniform(options.seed ?? 0), samples: options.samples ?? 200 });
  const groups = groupByBudget(runs);
  const minima = isoflopMinima(groups);
  const optima = groups.map((g) => ({
    flops: g.flops,
    fitted: computeOptimal(fit, g.flops),
    chinchilla: computeOptimal(CHINCHILLA, g.flops),
  }));
  // A vertex far outside the sizes that were run is an artefact of a flat or one-sided curve, not a measured optimum:
  // the frontier goes through the vertices that the runs bracket (or nearly: within 2× beyond the end sizes).
  const bracketed = minima.filter((m) => {
    const sizes = runs.filter((r) => Math.abs(Math.log((6 * r.params * r.tokens) / m.flops)) < Math.log(1.15));
    const lo = Math.min(...sizes.map((r) => r.params));
    const hi = Math.max(...sizes.map((r) => r.params));
    return m.params >= lo / 2 && m.params <= hi * 2;
  });
  return { runs, fit, minima, frontier: isoflopFrontier(bracketed), optima, pairs: monotonicityPairs(runs) };
}

/** The `--json` form: `{ E, A, B, alpha, beta, ci: { … } }` plus the rest of the analysis. */
export function analysisJson(analysis: ScalingAnalysis): Record<string, unknown> {
  const { fit } = analysis;
  return {
    E: fit.E,
    A: fit.A,
    B: fit.B,
    alpha: fit.alpha,
    beta: fit.beta,
    ci: fit.ci,
    level: fit.level,
    bootstrapSamples: fit.samples,
    objective: fit.objective,
    points: analysis.runs.map(({ params, tokens, loss, source }) => ({ params, tokens, loss, source })),
    isoflopMinima: analysis.minima.map(({ parabola: _, ...m }) => m),
    frontier: analysis.frontier,
    optima: analysis.optima,
    chinchilla: CHINCHILLA,
  };
}

const KEYS = ['E', 'A', 'B', 'alpha', 'beta'] as const;

/** A count for the tables; fits of a few runs can put an optimum below one parameter, which must still read. */
function count(value: number): string {
  return Math.abs(value) >= 1000 ? formatCount(value) : value.toPrecision(3);
}

function fixed(value: number, key: (typeof KEYS)[number]): string {
  return key === 'A' || key === 'B' ? value.toPrecision(4) : value.toFixed(3);
}

/** The human-readable lines `fit` prints (and the report's tables reuse). */
export function formatAnalysis(analysis: ScalingAnalysis): string[] {
  const { fit } = analysis;
  const lines = [
    `fit of L(N, D) = E + A/N^α + B/D^β to ${analysis.runs.length} runs (Huber δ=1e-3 on log loss, L-BFGS; ` +
      `${fit.samples} bootstrap resamples, ${Math.round(fit.level * 100)}% intervals)`,
    '',
    '  param   fitted     interval                  Chinchilla',
  ];
  for (const key of KEYS) {
    const [lo, hi] = fit.ci[key];
    lines.push(
      `  ${key.padEnd(6)}  ${fixed(fit[key], key).padStart(8)}   [${fixed(lo, key)}, ${fixed(hi, key)}]`.padEnd(52) +
        `${CHINCHILLA[key]}`,
    );
  }
  lines.push('', '  budget C    N*(C) fit   D*(C) fit   D/N fit   N*(C) Chinchilla   D/N Chinchilla   IsoFLOP N_opt');
  for (const o of analysis.optima) {
    const iso = analysis.minima.find((m) => Math.abs(Math.log(m.flops / o.flops)) < 1e-9);
    const isoText = iso ? `${count(iso.params)}${iso.extrapolated ? ' (outside the sizes run)' : ''}` : '—';
    lines.push(
      `  ${o.flops.toExponential(2).padEnd(10)}  ${count(o.fitted.params).padStart(9)}   ` +
        `${count(o.fitted.tokens).padStart(9)}   ${o.fitted.tokensPerParameter.toPrecision(3).padStart(7)}   ` +
        `${count(o.chinchilla.params).padStart(16)}   ${o.chinchilla.tokensPerParameter.toPrecision(3).padStart(14)}   ${isoText}`,
    );
  }
  if (analysis.frontier) {
    const { params, tokens } = analysis.frontier;
    lines.push(
      '',
      `  IsoFLOP frontier (approach 2, through the bracketed minima): N_opt ∝ C^${params.exponent.toFixed(3)}, D_opt ∝ C^${tokens.exponent.toFixed(3)} ` +
        `(fit: C^${(fit.beta / (fit.alpha + fit.beta)).toFixed(3)}, C^${(fit.alpha / (fit.alpha + fit.beta)).toFixed(3)}; ` +
        `Chinchilla: C^${(CHINCHILLA.beta / (CHINCHILLA.alpha + CHINCHILLA.beta)).toFixed(3)}, ` +
        `C^${(CHINCHILLA.alpha / (CHINCHILLA.alpha + CHINCHILLA.beta)).toFixed(3)})`,
    );
  }
  // An interval spanning more than 10× (or reaching a sign change) means the runs do not determine the parameter.
  const loose = KEYS.filter((key) => {
    const [lo, hi] = fit.ci[key];
    return !(lo > 0) || hi / lo > 10;
  });
  if (loose.length > 0)
    lines.push(
      '',
      `  not determined by these runs (interval wider than 10×): ${loose.join(', ')} — ` +
        `${loose.some((k) => k === 'A' || k === 'alpha') ? 'more model sizes per budget' : 'more budgets'} would pin ` +
        `${loose.length > 1 ? 'them' : 'it'} down`,
    );
  for (const varies of ['params', 'tokens'] as const) {
    const pairs = analysis.pairs.filter((p) => p.varies === varies);
    if (pairs.length === 0) continue;
    const held = pairs.filter((p) => p.holds).length;
    lines.push(
      `  loss falls with ${varies === 'params' ? 'N at fixed D' : 'D at fixed N'}: ${held} of ${pairs.length} pairs`,
    );
  }
  return lines;
}
