import { describe, expect, it } from 'vitest';
import { lbfgs, type Objective } from './lbfgs.js';

/** The n-dimensional Rosenbrock function Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²; minimum 0 at (1, …, 1). */
const rosenbrock: Objective = (x, grad) => {
  grad.fill(0);
  let f = 0;
  for (let i = 0; i + 1 < x.length; i++) {
    const a = x[i + 1]! - x[i]! * x[i]!;
    const b = 1 - x[i]!;
    f += 100 * a * a + b * b;
    grad[i] = grad[i]! - 400 * a * x[i]! - 2 * b;
    grad[i + 1] = grad[i + 1]! + 200 * a;
  }
  return f;
};

describe('lbfgs', () => {
  it('finds the Rosenbrock minimum from the classic start (−1.2, 1)', () => {
    const result = lbfgs(rosenbrock, [-1.2, 1]);
    expect(result.value).toBeLessThan(1e-14);
    expect(result.x[0]).toBeCloseTo(1, 6);
    expect(result.x[1]).toBeCloseTo(1, 6);
    expect(result.iterations).toBeLessThan(200);
  });

  it('finds the 10-dimensional Rosenbrock minimum from random starts', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 4 - 2;
    for (let trial = 0; trial < 3; trial++) {
      const start = Array.from({ length: 10 }, random);
      const result = lbfgs(rosenbrock, start, { maxIterations: 5000 });
      // Rosenbrock in 10-D has a local minimum near x₀ = −1; accept either but require a stationary point. Once f
      // stops changing in float64 the gradient is ~1e-6, which bounds how close x can get.
      expect(result.gradientNorm).toBeLessThan(1e-5);
      if (result.x[0]! > 0) for (const v of result.x) expect(v).toBeCloseTo(1, 5);
    }
  });

  it('solves an ill-conditioned quadratic exactly (against the linear solve)', () => {
    // f(x) = ½ xᵀQx − bᵀx with Q = diag(1, 10, 100, 1000) + a coupling; minimum at Q⁻¹b.
    const q = [
      [1, 0.5, 0, 0],
      [0.5, 10, 2, 0],
      [0, 2, 100, 5],
      [0, 0, 5, 1000],
    ];
    const b = [1, -2, 3, -4];
    const f: Objective = (x, grad) => {
      let value = 0;
      for (let i = 0; i < 4; i++) {
        let qx = 0;
        for (let j = 0; j < 4; j++) qx += q[i]![j]! * x[j]!;
        grad[i] = qx - b[i]!;
        value += 0.5 * x[i]! * qx - b[i]! * x[i]!;
      }
      return value;
    };
    const result = lbfgs(f, [3, 3, 3, 3]);
    // Q·x must equal b at the minimum.
    for (let i = 0; i < 4; i++) {
      let qx = 0;
      for (let j = 0; j < 4; j++) qx += q[i]![j]! * result.x[j]!;
      expect(qx).toBeCloseTo(b[i]!, 6);
    }
  });

  it('backs off from an objective that is infinite outside its domain', () => {
    // f(x) = x − log x on x > 0, minimum at 1; Infinity for x ≤ 0.
    const f: Objective = (x, grad) => {
      grad[0] = 1 - 1 / x[0]!;
      return x[0]! > 0 ? x[0]! - Math.log(x[0]!) : Number.POSITIVE_INFINITY;
    };
    expect(lbfgs(f, [0.05]).x[0]).toBeCloseTo(1, 6);
  });

  it('names a start point where the objective is not finite', () => {
    const f: Objective = () => Number.NaN;
    expect(() => lbfgs(f, [1, 2])).toThrow('not finite at the start point [1, 2]');
  });
});
