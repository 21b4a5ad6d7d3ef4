import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packSamplingRows, type TokenSampling } from '../ops/sample-tokens.js';
import { makeRng } from '../testing/reference.js';
import { logSumExp, sampleRow, sampleRowExact, sampleTokens } from './sample-tokens.js';
import { FAST_EXP_ERROR, fastExp } from './sample-tokens-exp.js';
import { CpuStorage } from './storage.js';

function logitsOf(rng: () => number, v: number, spread: number): Float32Array {
  return Float32Array.from({ length: v }, () => (rng() * 2 - 1) * spread);
}

const pick = (x: Float32Array, s: TokenSampling, exact: boolean) =>
  (exact ? sampleRowExact : sampleRow)(x, packSamplingRows([s], x.length), 0);

/**
 * Uniforms at which the definition's token changes, to float64 resolution (bisection on the exact kernel), with their
 * neighbours: the draws where a fast weight's error could flip the token if the kernel did not check its bound.
 */
function boundaryUniforms(x: Float32Array, s: Omit<TokenSampling, 'uniform'>, probes: number): number[] {
  const at = (u: number) => pick(x, { ...s, uniform: u }, true);
  const out: number[] = [];
  for (let p = 0; p < probes; p++) {
    let lo = p / probes;
    let hi = Math.min((p + 1) / probes, 1 - 2 ** -53);
    const tokenLo = at(lo);
    if (at(hi) === tokenLo) continue;
    for (let step = 0; step < 60 && hi - lo > 0; step++) {
      const mid = (lo + hi) / 2;
      if (mid === lo || mid === hi) break;
      if (at(mid) === tokenLo) lo = mid;
      else hi = mid;
    }
    out.push(lo, hi, lo * (1 - 2 ** -52), hi * (1 + 2 ** -52));
  }
  return out.filter((u) => u >= 0 && u < 1);
}

describe('fastExp', () => {
  it('stays within FAST_EXP_ERROR of Math.exp over [-80, 0], table edges included', () => {
    const rng = makeRng(1);
    const zs = [0, -0, -80, -1e-300, -Math.LN2 / 128, -Math.LN2 / 64, -79.999999];
    for (let i = 0; i < 20000; i++) zs.push(-rng() * 80, -rng() * 0.01, -Math.round(rng() * 7386) * (Math.LN2 / 64));
    let worst = 0;
    for (const z of zs) worst = Math.max(worst, Math.abs(fastExp(z) / Math.exp(z) - 1));
    expect(worst).toBeLessThan(FAST_EXP_ERROR / 20);
    expect(worst).toBeGreaterThan(0); // it is an approximation: the kernel's bound is what keeps tokens exact
  });
});

describe('sampleRow (fast weights) picks the definition token (Math.exp weights)', () => {
  const settings = [
    { temperature: 0.8, topK: 0, topP: 1 },
    { temperature: 0.8, topK: 40, topP: 1 },
    { temperature: 1.1, topK: 0, topP: 0.9 },
    { temperature: 0.6, topK: 37, topP: 0.5 },
    { temperature: 1e-3, topK: 0, topP: 1 }, // tiny: nearly all weights flush to 0
    { temperature: 500, topK: 0, topP: 0.95 }, // huge: nearly flat weights
  ];
  it('at draws placed right at token boundaries', () => {
    const rng = makeRng(21);
    for (const V of [1001, 4099]) {
      const x = logitsOf(rng, V, 6);
      for (const s of settings) {
        const us = boundaryUniforms(x, s, 6);
        expect(us.length).toBeGreaterThan(0);
        for (const uniform of us) {
          const row = { ...s, uniform };
          expect(pick(x, row, false), `${JSON.stringify(row)}`).toBe(pick(x, row, true));
        }
      }
    }
  });

  it('with a nucleus mass placed exactly at a ranked prefix sum, and tied logits', () => {
    const rng = makeRng(5);
    const V = 2003;
    // Logits on a coarse grid: many exact ties, inside the top-k and at the nucleus edge.
    const x = Float32Array.from({ length: V }, () => Math.round((rng() * 2 - 1) * 12) / 2);
    const temperature = 0.9;
    const m = Math.max(...x);
    const ranked = Array.from(x, (v, i) => [v, i] as const).sort((p, q) => q[0] - p[0] || p[1] - q[1]);
    const w = ranked.map(([v]) => Math.exp((v - m) / temperature));
    const total = Array.from(x).reduce((t, v) => t + Math.exp((v - m) / temperature), 0);
    let acc = 0;
    for (let j = 0; j < 60; j++) {
      acc += w[j]!;
      const topP = Math.min(acc / total, 1);
      for (const topK of [0, 50]) {
        const s = { temperature, topK, topP };
        for (const uniform of [...boundaryUniforms(x, s, 2), rng(), rng()]) {
          expect(pick(x, { ...s, uniform }, false), `${JSON.stringify(s)} u ${uniform}`).toBe(
            pick(x, { ...s, uniform }, true),
          );
        }
      }
    }
  });

  it('for random settings, biases and penalties (property)', () => {
    const rng = makeRng(9);
    const x = logitsOf(rng, 3001, 5);
    const row = fc.record({
      temperature: fc.double({ min: 0.02, max: 50, noNaN: true }),
      topK: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3001 })),
      topP: fc.oneof(fc.constant(1), fc.double({ min: 0.01, max: 1, noNaN: true })),
      uniform: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      bias: fc.boolean(),
    });
    fc.assert(
      fc.property(row, ({ bias, ...s }) => {
        const spec: TokenSampling = {
          ...s,
          logitBias: bias ? new Map([[7, 20]]) : undefined,
          counts: bias ? new Map([[11, 2]]) : undefined,
          frequencyPenalty: 0.5,
        };
        return pick(x, spec, false) === pick(x, spec, true);
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  it('falls back to the definition for non-finite logits', () => {
    const x = logitsOf(makeRng(4), 257, 3);
    x[10] = Number.NaN;
    x[20] = Number.NEGATIVE_INFINITY;
    for (const uniform of [0.1, 0.5, 0.99]) {
      for (const s of [
        { temperature: 1, topK: 0, topP: 1, uniform },
        { temperature: 1, topK: 30, topP: 0.8, uniform },
      ]) {
        expect(pick(x, s, false)).toBe(pick(x, s, true));
      }
    }
    x[30] = Number.POSITIVE_INFINITY;
    expect(pick(x, { temperature: 1, topK: 0, topP: 1, uniform: 0.5 }, false)).toBe(
      pick(x, { temperature: 1, topK: 0, topP: 1, uniform: 0.5 }, true),
    );
  });
});

describe('sampleTokens log-probabilities (fast log-sum-exp bounds)', () => {
  it('equal float32(logit − logSumExp) exactly, for wide and narrow rows', () => {
    const rng = makeRng(17);
    const V = 1999;
    const B = 40;
    const data = new Float32Array(B * V);
    for (let r = 0; r < B; r++) {
      const spread = [0.01, 1, 8, 40][r % 4]!;
      for (let i = 0; i < V; i++) data[r * V + i] = (rng() * 2 - 1) * spread + (r % 3) * 100;
    }
    data[5 * V + 3] = Number.NEGATIVE_INFINITY;
    data[6 * V + 9] = Number.NaN; // no bounds: the exact sum (NaN log-probabilities, as the definition's)
    const rows = packSamplingRows(
      Array.from({ length: B }, () => ({ temperature: 0.7, topK: 0, topP: 1, uniform: rng() })),
      V,
    );
    const view = { storage: new CpuStorage('float32', data), shape: [B, V], strides: [V, 1], offset: 0 };
    const out = sampleTokens(view, rows, 3);
    const ids = (out.ids as CpuStorage).data as Int32Array;
    const lp = (out.logprob as CpuStorage).data as Float32Array;
    const topIds = (out.topIds as CpuStorage).data as Int32Array;
    const topLp = (out.topLogprobs as CpuStorage).data as Float32Array;
    for (let r = 0; r < B; r++) {
      const x = data.subarray(r * V, (r + 1) * V);
      const lse = logSumExp(x);
      expect(lp[r]).toStrictEqual(Math.fround(x[ids[r]!]! - lse));
      for (let j = 0; j < 3; j++) expect(topLp[r * 3 + j]).toStrictEqual(Math.fround(x[topIds[r * 3 + j]!]! - lse));
    }
  });
});
