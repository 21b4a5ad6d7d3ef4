/**
 * The parametric loss L(N, D) = E + A/N^α + B/D^β of Hoffmann et al. 2022 ("Training Compute-Optimal Large Language
 * Models", eq. 2 and 10), its published constants, training FLOPs C ≈ 6·N·D, and the compute-optimal allocation it
 * implies (eq. 4). N counts parameters, D training tokens; losses are in nats per token.
 *
 * @module
 */

/** The five constants of L(N, D) = E + A/N^α + B/D^β. */
export interface ScalingLaw {
  /** Irreducible loss (nats per token). */
  E: number;
  /** Model-size coefficient. */
  A: number;
  /** Data coefficient. */
  B: number;
  /** Model-size exponent α. */
  alpha: number;
  /** Data exponent β. */
  beta: number;
}

/**
 * Chinchilla's published fit (approach 3, eq. 10): E = 1.69, A = 406.4, B = 410.7, α = 0.34, β = 0.28, and the rule of
 * thumb of about 20 training tokens per parameter (Table 3). The one home of these numbers in Andes.
 */
export const CHINCHILLA = { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28, tokensPerParameter: 20 } as const;

/** L(N, D) = E + A/N^α + B/D^β, in nats per token. */
export function scalingLoss(law: ScalingLaw, params: number, tokens: number): number {
  return law.E + law.A / params ** law.alpha + law.B / tokens ** law.beta;
}

/** Chinchilla's fitted loss L(N, D) = 1.69 + 406.4/N^0.34 + 410.7/D^0.28, in nats per token. */
export function chinchillaLoss(params: number, tokens: number): number {
  return scalingLoss(CHINCHILLA, params, tokens);
}

/** Training FLOPs ≈ 6·N·D (forward 2·N·D plus backward 4·N·D, attention ignored). */
export function trainingFlops(params: number, tokens: number): number {
  return 6 * params * tokens;
}

/** The allocation of a compute budget that minimises a law's loss. */
export interface ComputeOptimum {
  /** Training FLOPs C. */
  flops: number;
  /** N*(C). */
  params: number;
  /** D*(C) = C / (6·N*). */
  tokens: number;
  /** Tokens per parameter at the optimum. */
  tokensPerParameter: number;
  /** L(N*, D*): the lowest loss the law allows for C. */
  loss: number;
}

/**
 * N*(C) = G·(C/6)^(β/(α+β)) with G = (αA/(βB))^(1/(α+β)) and D*(C) = C/(6·N*): setting ∂L/∂N = 0 along
 * N·D = C/6 gives αA/N^α = βB/D^β, which solves to these (Hoffmann et al. 2022, eq. 4).
 */
export function computeOptimal(law: ScalingLaw, flops: number): ComputeOptimum {
  if (!(flops > 0)) throw new Error(`computeOptimal: flops must be a positive number, got ${flops}`);
  const { A, B, alpha, beta } = law;
  const g = ((alpha * A) / (beta * B)) ** (1 / (alpha + beta));
  const params = g * (flops / 6) ** (beta / (alpha + beta));
  const tokens = flops / 6 / params;
  return { flops, params, tokens, tokensPerParameter: tokens / params, loss: scalingLoss(law, params, tokens) };
}

/**
 * The smallest compute budget whose optimum reaches `targetLoss`, with its allocation (the Chinchilla-optimal model
 * for a target loss). Found by bisection in log C, since L(N*(C), D*(C)) falls monotonically with C.
 *
 * @throws Error when the target is at or below the law's irreducible loss E.
 */
export function computeOptimalForLoss(law: ScalingLaw, targetLoss: number): ComputeOptimum {
  if (!(targetLoss > law.E))
    throw new Error(`computeOptimalForLoss: target loss ${targetLoss} must exceed the irreducible loss E = ${law.E}`);
  let lo = Math.log(1e-6);
  let hi = Math.log(1e40);
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (computeOptimal(law, Math.exp(mid)).loss > targetLoss) lo = mid;
    else hi = mid;
  }
  return computeOptimal(law, Math.exp(hi));
}
