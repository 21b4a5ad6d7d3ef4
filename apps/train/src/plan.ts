/**
 * Chinchilla scaling arithmetic (Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models").
 *
 * Numbers used: about 20 training tokens per parameter is compute-optimal (Table 3), training costs
 * C ≈ 6·N·D FLOPs, and the fitted parametric loss (approach 3, eq. 10) is
 * L(N, D) = E + A / N^α + B / D^β with E = 1.69, A = 406.4, B = 410.7, α = 0.34, β = 0.28.
 *
 * The constants and formulas live in `@andes/scaling` (their one home); this module re-exports them for `plan`.
 *
 * @module
 */
import { CHINCHILLA, chinchillaLoss, computeOptimal, trainingFlops } from '@andes/scaling';

export { CHINCHILLA, chinchillaLoss, trainingFlops };

/** Inputs of {@link planTraining}. */
export interface PlanInput {
  /** Parameter count N. */
  params: number;
  /** Training tokens D; defaults to the compute-optimal 20·N. */
  tokens?: number;
  /** Sustained training throughput in FLOP/s, to estimate wall-clock time. */
  throughput?: number;
}

/** What {@link planTraining} returns. FLOPs are total training FLOPs, times are in seconds. */
export interface TrainingPlan {
  /** Parameter count N. */
  params: number;
  /** Training tokens D (the given budget, or compute-optimal). */
  tokens: number;
  /** Compute-optimal tokens for N parameters: 20·N. */
  computeOptimalTokens: number;
  /** Training FLOPs ≈ 6·N·D. */
  flops: number;
  /** Chinchilla's predicted loss L(N, D) in nats per token. */
  loss: number;
  /** Predicted loss of the same N trained on its compute-optimal 20·N tokens. */
  computeOptimalLoss: number;
  /** D / (20·N): above 1 the model is over-trained relative to compute-optimal (LLaMA-7B on 1T ≈ 7×). */
  overTrainFactor: number;
  /**
   * Parameters minimising the fitted L(N, D) for the same FLOPs C (eq. 4 of the paper):
   * N* = G·(C/6)^(β/(α+β)) with G = (αA/(βB))^(1/(α+β)).
   */
  computeOptimalParamsForFlops: number;
  /** Tokens of that allocation: D* = C / (6·N*). */
  computeOptimalTokensForFlops: number;
  /** Predicted loss L(N*, D*) of that allocation: the lowest the fit allows for these FLOPs. */
  computeOptimalLossForFlops: number;
  /** Seconds at `throughput` FLOP/s, when given. */
  seconds?: number;
}

function requirePositive(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`plan: ${name} must be a positive number, got ${value}`);
}

/** Computes the Chinchilla numbers for a model of `params` parameters trained on `tokens` tokens. */
export function planTraining(input: PlanInput): TrainingPlan {
  requirePositive('params', input.params);
  requirePositive('tokens', input.tokens);
  requirePositive('throughput', input.throughput);
  const n = input.params;
  const computeOptimalTokens = CHINCHILLA.tokensPerParameter * n;
  const tokens = input.tokens ?? computeOptimalTokens;
  const flops = trainingFlops(n, tokens);
  const optimum = computeOptimal(CHINCHILLA, flops);
  const optimalN = optimum.params;
  const optimalD = optimum.tokens;
  const plan: TrainingPlan = {
    params: n,
    tokens,
    computeOptimalTokens,
    flops,
    loss: chinchillaLoss(n, tokens),
    computeOptimalLoss: chinchillaLoss(n, computeOptimalTokens),
    overTrainFactor: tokens / computeOptimalTokens,
    computeOptimalParamsForFlops: optimalN,
    computeOptimalTokensForFlops: optimalD,
    computeOptimalLossForFlops: optimum.loss,
  };
  if (input.throughput !== undefined) plan.seconds = flops / input.throughput;
  return plan;
}

/** Formats a count with an SI suffix: 6.74e9 → "6.74B", 1.4e12 → "1.40T". */
export function formatCount(value: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, suffix] of units) if (Math.abs(value) >= scale) return `${(value / scale).toFixed(2)}${suffix}`;
  return value.toFixed(0);
}

/** Formats seconds as the largest sensible unit: "42 s", "3.5 h", "12.0 days", "2.3 years". */
export function formatDuration(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 86400 * 3) return `${(seconds / 3600).toFixed(1)} h`;
  if (seconds < 86400 * 365 * 2) return `${(seconds / 86400).toFixed(1)} days`;
  return `${(seconds / (86400 * 365.25)).toFixed(1)} years`;
}

/** Renders a plan as the human-readable lines `andes-train plan` prints. */
export function formatPlan(plan: TrainingPlan, label?: string): string {
  const lines = [
    `${label ? `${label}: ` : ''}${formatCount(plan.params)} parameters, ${formatCount(plan.tokens)} tokens`,
    `  compute-optimal tokens (20 per parameter): ${formatCount(plan.computeOptimalTokens)}`,
    `  training compute 6·N·D:                    ${plan.flops.toExponential(3)} FLOPs`,
    `  predicted loss L(N, D):                    ${plan.loss.toFixed(4)} nats/token`,
    `  loss at compute-optimal tokens:            ${plan.computeOptimalLoss.toFixed(4)} nats/token`,
    `  over-training vs compute-optimal:          ${plan.overTrainFactor.toFixed(2)}×`,
    `  best split of these FLOPs (fitted L):      ${formatCount(plan.computeOptimalParamsForFlops)} parameters, ` +
      `${formatCount(plan.computeOptimalTokensForFlops)} tokens, ` +
      `loss ${plan.computeOptimalLossForFlops.toFixed(4)}`,
  ];
  if (plan.seconds !== undefined)
    lines.push(`  time at the given throughput:              ${formatDuration(plan.seconds)}`);
  return lines.join('\n');
}
