import { seededUniform } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { sharePrefill } from './prefill-budget.js';
import { adaptivePrefillRows, ChunkCostModel } from './prefill-first.js';

/** A cost model that has seen exact steps of `fixed + perChunk · chunks + perRow · rows` ms of three shapes. */
function fitted(fixed: number, perChunk: number, perRow: number): ChunkCostModel {
  const m = new ChunkCostModel();
  for (const [c, r] of [
    [1, 1],
    [16, 16],
    [2, 37],
  ] as const) {
    m.observe(c, r, fixed + perChunk * c + perRow * r);
  }
  return m;
}

/** x with A·x = b for a 3 × 3 row-major A (Gaussian elimination with partial pivoting, float64). */
function gauss(A: readonly number[], b: readonly number[]): number[] {
  const m = [0, 1, 2].map((i) => [...A.slice(i * 3, i * 3 + 3), b[i]!]);
  for (let c = 0; c < 3; c++) {
    const p = [c, c + 1, c + 2]
      .filter((r) => r < 3)
      .reduce((x, y) => (Math.abs(m[y]![c]!) > Math.abs(m[x]![c]!) ? y : x));
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = c + 1; r < 3; r++) {
      const k = m[r]![c]! / m[c]![c]!;
      for (let j = c; j < 4; j++) m[r]![j]! -= k * m[c]![j]!;
    }
  }
  const x = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    let v = m[r]![3]!;
    for (let j = r + 1; j < 3; j++) v -= m[r]![j]! * x[j]!;
    x[r] = v / m[r]![r]!;
  }
  return x;
}

describe('ChunkCostModel', () => {
  it('has no fit until three independent step shapes were seen, then recovers a noisy plane', () => {
    const m = new ChunkCostModel(1);
    expect(m.fit()).toBeNull();
    // Decode-only steps (chunks = rows) cannot tell a chunk's cost from a row's.
    m.observe(1, 1, 5);
    m.observe(9, 9, 12);
    expect(m.fit()).toBeNull();
    expect(m.predict(3, 3)).toBeNaN();
    const rand = seededUniform(41);
    // Truth: 3.1 ms + 0.47 ms per chunk + 0.29 ms per row, ±5 % noise, awkward shapes.
    for (let i = 0; i < 400; i++) {
      const chunks = 1 + Math.floor(rand() * 17);
      const rows = chunks + Math.floor(rand() * 45);
      m.observe(chunks, rows, (3.1 + 0.47 * chunks + 0.29 * rows) * (0.95 + 0.1 * rand()));
    }
    const f = m.fit()!;
    expect(f.fixed).toBeCloseTo(3.1, 0);
    expect(f.perChunk).toBeGreaterThan(0.4);
    expect(f.perChunk).toBeLessThan(0.54);
    expect(f.perRow).toBeGreaterThan(0.27);
    expect(f.perRow).toBeLessThan(0.31);
    expect(m.predict(16, 16)).toBeCloseTo(3.1 + 0.76 * 16, 0);
  });

  it('fits without negative costs: least squares under that constraint, checked by its optimality conditions', () => {
    // GPU-like steps: 10 ms whatever they hold, rows if anything a hair cheaper (noise says so): the plain fit gives
    // rows a negative cost, which would price a prompt-only step above the mixed one it is part of.
    const m = new ChunkCostModel(1);
    const obs: [number, number, number][] = [];
    const rand = seededUniform(77);
    for (let i = 0; i < 300; i++) {
      const chunks = 1 + Math.floor(rand() * 17);
      const rows = chunks + Math.floor(rand() * 40);
      const ms = (10 + 0.05 * chunks - 0.01 * rows) * (0.98 + 0.04 * rand());
      obs.push([chunks, rows, ms]);
      m.observe(chunks, rows, ms);
    }
    // Float64 reference from the raw observations: the normal equations, solved plainly, then the constrained fit's
    // KKT conditions (gradient 0 on positive terms, ≥ 0 on zero ones).
    const A = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    const b = [0, 0, 0];
    for (const [c, r, ms] of obs) {
      const x = [1, c, r];
      for (let i = 0; i < 3; i++) {
        b[i]! += x[i]! * ms;
        for (let j = 0; j < 3; j++) A[i * 3 + j]! += x[i]! * x[j]!;
      }
    }
    const plain = gauss(A, b);
    expect(plain[2]).toBeLessThan(0);
    const f = m.fit()!;
    const beta = [f.fixed, f.perChunk, f.perRow];
    expect(Math.min(...beta)).toBeGreaterThanOrEqual(0);
    expect(f.perRow).toBe(0);
    const scale = Math.max(...b.map(Math.abs));
    for (let i = 0; i < 3; i++) {
      const g = A.slice(i * 3, i * 3 + 3).reduce((n, v, j) => n + v * beta[j]!, 0) - b[i]!;
      if (beta[i]! > 0) expect(Math.abs(g) / scale).toBeLessThan(1e-9);
      else expect(g / scale).toBeGreaterThan(-1e-9);
    }
    // A step alone then costs less than the same step beside 15 decodes, as it must.
    expect(m.predict(1, 7)).toBeLessThan(m.predict(16, 22));
  });

  it('rejects bad observations and decays', () => {
    expect(() => new ChunkCostModel(0)).toThrow(/decay 0/);
    const m = fitted(2, 1, 0.5);
    m.observe(0, 3, 10);
    m.observe(3, 2, 10); // fewer rows than chunks
    m.observe(1, 3, Number.NaN);
    expect(m.predict(5, 11)).toBeCloseTo(2 + 5 + 5.5, 9);
  });
});

describe('adaptivePrefillRows', () => {
  it('is null before the cost model has a fit, and 0 without decodes or prompts', () => {
    expect(adaptivePrefillRows(new ChunkCostModel(), 4, 0, [3])).toBeNull();
    expect(adaptivePrefillRows(fitted(2, 1, 0.5), 0, 0, [3])).toBe(0);
    expect(adaptivePrefillRows(fitted(2, 1, 0.5), 4, 0, [])).toBe(0);
  });

  it('finishes whole prompts, shortest first, within the decode steps of wait it is given (float64 reference)', () => {
    const rand = seededUniform(31);
    let alone = 0;
    for (let trial = 0; trial < 300; trial++) {
      const [fixed, perChunk, perRow] = [0.5 + 20 * rand(), 3 * rand(), 0.1 + 2 * rand()];
      const cost = fitted(fixed, perChunk, perRow);
      const decodes = 1 + Math.floor(rand() * 23);
      const waitSteps = [1, 2, 3][trial % 3]!;
      const decodeMs = waitSteps * (fixed + (perChunk + perRow) * decodes);
      const waited = rand() * decodeMs;
      const pending = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => 1 + Math.floor(rand() * 41));
      const rows = adaptivePrefillRows(cost, decodes, waited, pending, waitSteps)!;
      // Reference: the largest k whose k shortest prompts fit, among budgets where sharePrefill finishes one.
      const sorted = [...pending].sort((a, b) => a - b);
      let want = 0;
      let sum = 0;
      for (let k = 1; k <= sorted.length; k++) {
        sum += sorted[k - 1]!;
        const alone = fixed + perChunk * k + perRow * sum;
        if (waited + alone > decodeMs + 1e-9) break;
        // The step alone must bring the first tokens 1.5 times sooner than the step beside the decodes.
        if (1.5 * alone > fixed + perChunk * (decodes + k) + perRow * (decodes + sum) + 1e-9) break;
        if (sharePrefill(pending, sum).some((n, i) => n === pending[i])) want = sum;
      }
      expect(rows).toBe(want);
      if (rows > 0) alone++;
    }
    // Both outcomes occur in the sample.
    expect(alone).toBeGreaterThan(30);
    expect(alone).toBeLessThan(270);
  });

  it('mixes where a step costs about the same whatever its rows (GPU-like costs), however short the prompt', () => {
    // 10 ms a step, 0.05 ms a chunk, 0.02 ms a row: a 7-row prompt alone 10.19 ms, beside 15 decodes 11.19 ms.
    const cost = fitted(10, 0.05, 0.02);
    expect(adaptivePrefillRows(cost, 15, 0, [7])).toBe(0);
    // The same prompt with a cost mostly per row (lavapipe-like: 15 ms, 1.5 ms a chunk, 1 ms a row): 23.5 ms alone,
    // 60 ms beside 15 decodes.
    expect(adaptivePrefillRows(fitted(15, 1.5, 1), 15, 0, [7])).toBe(7);
    // A speedup asked of 3: 23.5 · 3 > 60.
    expect(adaptivePrefillRows(fitted(15, 1.5, 1), 15, 0, [7], 3, 3)).toBe(0);
  });

  it('gives a short prompt a step of its own and sends a dearer one beside the decodes (CPU-like costs)', () => {
    // 3 ms a step, 0.4 ms a chunk, 0.4 ms a row: 16 decodes 15.8 ms, a 20-row prompt alone 11.4 ms.
    const cost = fitted(3, 0.4, 0.4);
    expect(adaptivePrefillRows(cost, 16, 0, [20], 1)).toBe(20);
    expect(adaptivePrefillRows(cost, 16, 0, [20, 20], 1)).toBe(20);
    expect(adaptivePrefillRows(cost, 16, 0, [20, 9], 1)).toBe(29);
    expect(adaptivePrefillRows(cost, 16, 0, [40], 1)).toBe(0);
    // After 5 ms of prefill-only steps one decode step of wait is spent: the 20-row prompt goes beside the decodes.
    expect(adaptivePrefillRows(cost, 16, 5, [20], 1)).toBe(0);
    // The default allows three decode steps (47.4 ms): 40 rows (19.4 ms) after 25 ms of waiting, not 120 rows (51.4 ms).
    expect(adaptivePrefillRows(cost, 16, 25, [40])).toBe(40);
    expect(adaptivePrefillRows(cost, 16, 0, [120])).toBe(0);
  });
});
