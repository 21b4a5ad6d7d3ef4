/**
 * `@andes/scaling`: measure scaling laws on your own runs. Chinchilla's parametric fit L(N, D) = E + A/N^α + B/D^β
 * (Huber loss on log predictions, L-BFGS from a grid of starts) with bootstrap intervals, IsoFLOP minima (approach 2),
 * the compute-optimal allocation N*(C), D*(C), the inference-aware trade-off, and the width/depth rule and IsoFLOP
 * grid of a sweep. Pure float64 math; depends on nothing.
 *
 * @packageDocumentation
 */
export {
  type BootstrapOptions,
  bootstrapFit,
  type LawIntervals,
  quantile,
  type ScalingLawFitWithIntervals,
} from './bootstrap.js';
export {
  type BudgetGroup,
  fitPowerLaw,
  groupByBudget,
  type IsoflopFrontier,
  type IsoflopMinimum,
  isoflopFrontier,
  isoflopMinima,
  type PowerLaw,
  polyfit,
} from './isoflop.js';
export {
  type GridModel,
  type GridPoint,
  type IsoflopGridOptions,
  isoflopGrid,
  type ModelShape,
  shapeForWidth,
} from './isoflop-grid.js';
export {
  CHINCHILLA,
  type ComputeOptimum,
  chinchillaLoss,
  computeOptimal,
  computeOptimalForLoss,
  type ScalingLaw,
  scalingLoss,
  trainingFlops,
} from './law.js';
export { type LbfgsOptions, type LbfgsResult, lbfgs, type Objective } from './lbfgs.js';
export { type MonotonicityPair, monotonicityPairs } from './monotonicity.js';
export {
  chinchillaInitialisationGrid,
  type FitOptions,
  fitScalingLaw,
  huber,
  huberDerivative,
  huberLogObjective,
  type LogLawParameters,
  type LossPoint,
  lawFromParameters,
  parametersFromLaw,
  rankStarts,
  type ScalingLawFit,
} from './parametric-fit.js';
export {
  inferenceTradeoff,
  type Tradeoff,
  type TradeoffRow,
  tokensForLoss,
  tradeoffCurve,
  tradeoffRow,
} from './tradeoff.js';
