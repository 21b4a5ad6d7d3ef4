/**
 * Limited-memory BFGS (Nocedal & Wright, "Numerical Optimization", algorithms 7.4 and 7.5) with a backtracking
 * line search on the Armijo condition. Small on purpose: the scaling-law objective has five parameters, so the
 * two-loop recursion over a handful of curvature pairs is all the machinery a fit needs.
 *
 * @module
 */

/** An objective: returns f(x) and writes ∇f(x) into `grad` (same length as `x`). */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/** Options of {@link lbfgs}. */
export interface LbfgsOptions {
  /** Curvature pairs kept (the "m" of L-BFGS). Default 10. */
  memory?: number;
  /** Iteration limit. Default 1000. */
  maxIterations?: number;
  /** Stop when ‖∇f‖∞ falls below this. Default 1e-10. */
  gradientTolerance?: number;
  /** Stop when f improves by less than this (relative to max(1, |f|)) over one iteration. Default 1e-15. */
  valueTolerance?: number;
}

/** What {@link lbfgs} returns. */
export interface LbfgsResult {
  /** The best point found. */
  x: Float64Array;
  /** f at `x`. */
  value: number;
  /** ‖∇f(x)‖∞. */
  gradientNorm: number;
  /** Iterations taken. */
  iterations: number;
  /** Why it stopped: `gradient` (converged), `value` (no more progress), `iterations` or `line-search`. */
  reason: 'gradient' | 'value' | 'iterations' | 'line-search';
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * Minimises `f` from `x0` (not modified). Non-finite objective values during the line search count as "too far"
 * and shrink the step, so an objective may return Infinity outside its domain.
 *
 * @throws Error when f(x0) or its gradient is not finite.
 */
export function lbfgs(f: Objective, x0: ArrayLike<number>, options: LbfgsOptions = {}): LbfgsResult {
  const memory = options.memory ?? 10;
  const maxIterations = options.maxIterations ?? 1000;
  const gradTol = options.gradientTolerance ?? 1e-10;
  const valueTol = options.valueTolerance ?? 1e-15;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let fx = f(x, g);
  if (!Number.isFinite(fx) || !g.every(Number.isFinite))
    throw new Error(`lbfgs: the objective is not finite at the start point [${Array.from(x0).join(', ')}]`);
  const sHistory: Float64Array[] = [];
  const yHistory: Float64Array[] = [];
  const rhoHistory: number[] = [];
  const direction = new Float64Array(n);
  const alphas = new Float64Array(memory);
  const xNew = new Float64Array(n);
  let gNew = new Float64Array(n);

  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (maxAbs(g) < gradTol)
      return { x, value: fx, gradientNorm: maxAbs(g), iterations: iteration, reason: 'gradient' };
    // Two-loop recursion: direction = −H·g with H the L-BFGS inverse-Hessian approximation.
    for (let i = 0; i < n; i++) direction[i] = -g[i]!;
    for (let k = sHistory.length - 1; k >= 0; k--) {
      const a = rhoHistory[k]! * dot(sHistory[k]!, direction);
      alphas[k] = a;
      const y = yHistory[k]!;
      for (let i = 0; i < n; i++) direction[i] = direction[i]! - a * y[i]!;
    }
    if (sHistory.length > 0) {
      // Initial Hessian scale γ = sᵀy / yᵀy of the newest pair (eq. 7.20) makes the first trial step ≈ 1 work.
      const s = sHistory.at(-1)!;
      const y = yHistory.at(-1)!;
      const gamma = dot(s, y) / dot(y, y);
      for (let i = 0; i < n; i++) direction[i] = direction[i]! * gamma;
    }
    for (let k = 0; k < sHistory.length; k++) {
      const b = rhoHistory[k]! * dot(yHistory[k]!, direction);
      const s = sHistory[k]!;
      for (let i = 0; i < n; i++) direction[i] = direction[i]! + s[i]! * (alphas[k]! - b);
    }
    let slope = dot(g, direction);
    if (!(slope < 0)) {
      // Not a descent direction (the curvature pairs went stale): restart from steepest descent.
      sHistory.length = yHistory.length = rhoHistory.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -g[i]!;
      slope = -dot(g, g);
    }
    // The very first step has no curvature information: keep it small relative to the gradient.
    let step = sHistory.length === 0 ? Math.min(1, 1 / Math.max(maxAbs(g), 1e-12)) : 1;
    let fNew = Number.NaN;
    let accepted = false;
    for (let trial = 0; trial < 60; trial++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * direction[i]!;
      fNew = f(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= fx + 1e-4 * step * slope && gNew.every(Number.isFinite)) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) return { x, value: fx, gradientNorm: maxAbs(g), iterations: iteration, reason: 'line-search' };
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(s, y);
    // Keep only pairs with positive curvature, so H stays positive definite (Armijo alone does not promise it).
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (sHistory.length === memory) {
        sHistory.shift();
        yHistory.shift();
        rhoHistory.shift();
      }
      sHistory.push(s);
      yHistory.push(y);
      rhoHistory.push(1 / sy);
    }
    const improvement = fx - fNew;
    x = Float64Array.from(xNew);
    const swap = g;
    g = gNew;
    gNew = swap;
    fx = fNew;
    if (improvement <= valueTol * Math.max(1, Math.abs(fx)) && maxAbs(g) < Math.sqrt(gradTol))
      return { x, value: fx, gradientNorm: maxAbs(g), iterations: iteration + 1, reason: 'value' };
  }
  return { x, value: fx, gradientNorm: maxAbs(g), iterations: maxIterations, reason: 'iterations' };
}
