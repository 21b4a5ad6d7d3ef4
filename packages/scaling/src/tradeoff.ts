/**
 * The LLaMA argument in numbers (Touvron et al. 2023 §1; Sardana et al. 2023, "Beyond Chinchilla-Optimal: Accounting
 * for Inference in Language Model Scaling Laws"): to reach a target loss, a model of N parameters needs
 * D(N) = (B / (L − E − A/N^α))^(1/β) training tokens under the law; it then costs 6·N·D(N) FLOPs to train and 2·N·T to
 * serve T tokens. Chinchilla minimises the first term only; with inference counted the best N is smaller and trained
 * on more tokens.
 *
 * @module
 */
import { type ComputeOptimum, computeOptimalForLoss, type ScalingLaw } from './law.js';

/** Cost of one model size that reaches the target loss. */
export interface TradeoffRow {
  /** Parameters N. */
  params: number;
  /** Training tokens D(N) that reach the target loss. */
  tokens: number;
  /** D/N. */
  tokensPerParameter: number;
  /** 6·N·D. */
  trainingFlops: number;
  /** 2·N·T. */
  inferenceFlops: number;
  /** Training plus inference FLOPs. */
  totalFlops: number;
}

/** What {@link inferenceTradeoff} returns. */
export interface Tradeoff {
  targetLoss: number;
  /** Tokens served over the model's lifetime, T. */
  inferenceTokens: number;
  /** The size that minimises training + inference FLOPs. */
  best: TradeoffRow;
  /** The Chinchilla-optimal size for the same loss (minimum training FLOPs), costed with the same inference. */
  chinchilla: TradeoffRow;
  /** Chinchilla's allocation for the loss (the law's compute optimum). */
  chinchillaOptimum: ComputeOptimum;
  /** Smallest N that can reach the loss at all (infinite data). */
  minParams: number;
}

/** Tokens that bring a model of `params` parameters to `targetLoss` under `law`; Infinity when it cannot. */
export function tokensForLoss(law: ScalingLaw, params: number, targetLoss: number): number {
  const gap = targetLoss - law.E - law.A / params ** law.alpha;
  return gap > 0 ? (law.B / gap) ** (1 / law.beta) : Number.POSITIVE_INFINITY;
}

/** Training and inference cost of `params` parameters at `targetLoss`. */
export function tradeoffRow(law: ScalingLaw, params: number, targetLoss: number, inferenceTokens: number): TradeoffRow {
  const tokens = tokensForLoss(law, params, targetLoss);
  const trainingFlops = 6 * params * tokens;
  const inferenceFlops = 2 * params * inferenceTokens;
  return {
    params,
    tokens,
    tokensPerParameter: tokens / params,
    trainingFlops,
    inferenceFlops,
    totalFlops: trainingFlops + inferenceFlops,
  };
}

/** Minimises a unimodal `f` over [lo, hi] by golden-section search. */
function goldenSection(f: (x: number) => number, lo: number, hi: number): number {
  const r = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - r * (b - a);
  let d = a + r * (b - a);
  let fc = f(c);
  let fd = f(d);
  for (let i = 0; i < 200 && b - a > 1e-12 * Math.max(1, Math.abs(a)); i++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - r * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + r * (b - a);
      fd = f(d);
    }
  }
  return (a + b) / 2;
}

/**
 * The size that minimises training + inference FLOPs for `targetLoss` with `inferenceTokens` served, beside the
 * Chinchilla-optimal size. The total is convex in log N above the minimum size, so a coarse scan in log N picks the
 * bracket and golden-section search refines it.
 *
 * @throws Error when the target loss is not above the law's irreducible loss, or T is negative.
 */
export function inferenceTradeoff(law: ScalingLaw, targetLoss: number, inferenceTokens: number): Tradeoff {
  if (!(inferenceTokens >= 0) || !Number.isFinite(inferenceTokens))
    throw new Error(`inferenceTradeoff: inference tokens must be a number >= 0, got ${inferenceTokens}`);
  const chinchillaOptimum = computeOptimalForLoss(law, targetLoss);
  const minParams = (law.A / (targetLoss - law.E)) ** (1 / law.alpha);
  const total = (logN: number) => tradeoffRow(law, Math.exp(logN), targetLoss, inferenceTokens).totalFlops;
  const lo = Math.log(minParams) + 1e-9;
  const hi = Math.log(chinchillaOptimum.params) + 1e-6; // inference only ever pushes the optimum below Chinchilla's
  const steps = 400;
  let bestI = 0;
  let bestValue = Number.POSITIVE_INFINITY;
  for (let i = 0; i <= steps; i++) {
    const v = total(lo + ((hi - lo) * i) / steps);
    if (v < bestValue) {
      bestValue = v;
      bestI = i;
    }
  }
  const at = (i: number) => lo + ((hi - lo) * Math.min(steps, Math.max(0, i))) / steps;
  const logN = goldenSection(total, at(bestI - 1), at(bestI + 1));
  return {
    targetLoss,
    inferenceTokens,
    best: tradeoffRow(law, Math.exp(logN), targetLoss, inferenceTokens),
    chinchilla: tradeoffRow(law, chinchillaOptimum.params, targetLoss, inferenceTokens),
    chinchillaOptimum,
    minParams,
  };
}

/**
 * Rows for a table or curve: `count` sizes spaced evenly in log N from just above the minimum size to `maxFactor` ×
 * the Chinchilla-optimal size.
 */
export function tradeoffCurve(tradeoff: Tradeoff, law: ScalingLaw, count = 60, maxFactor = 3): TradeoffRow[] {
  const lo = Math.log(tradeoff.minParams * 1.02);
  const hi = Math.log(tradeoff.chinchillaOptimum.params * maxFactor);
  return Array.from({ length: count }, (_, i) =>
    tradeoffRow(law, Math.exp(lo + ((hi - lo) * i) / (count - 1)), tradeoff.targetLoss, tradeoff.inferenceTokens),
  );
}
