import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRng } from '../testing/reference.js';
import { definitionWeights, logitRow } from '../testing/sampling-reference.js';
import { ARGUMENT_ERROR } from './draw-by-blocks.js';
import { EXP2_64_ERROR, EXP2_ERROR } from './exp2-polynomial.js';
import { ensureMemory } from './wasm-heap.js';
import { relaxedSimdSupported, setWasmRelaxedSimd } from './wasm-relaxed-simd.js';
import { BLOCK, wasmSampling } from './wasm-sampling.js';

// Both variants of the kernels: with relaxed SIMD's multiply-add (where the engine has it) and without.
const variants = relaxedSimdSupported() ? [false, true] : [false];
describe.runIf(wasmSampling() !== null).each(variants)('wasm sampling kernels, fused %s', (fused) => {
  let previous: boolean | undefined;
  beforeAll(() => {
    previous = setWasmRelaxedSimd(fused);
  });
  afterAll(() => {
    setWasmRelaxedSimd(previous);
  });

  it('block sums and Σ w·y agree with float64 Math.exp within the stated bounds', () => {
    const wasm = wasmSampling()!;
    const rng = makeRng(11);
    for (const [n, temperature, spread] of [
      [1001, 0.8, 3],
      [4099, 0.1, 1],
      [777, 2, 20],
      [32000, 0.8, 0.3],
    ] as const) {
      const a = logitRow(rng, n, spread, 3);
      a[5] = Number.NEGATIVE_INFINITY;
      const padded = Math.ceil(n / BLOCK) * BLOCK;
      expect(ensureMemory(wasm.memory, 4 * padded + 8 * (padded / BLOCK + 1))).toBe(true);
      const f = new Float32Array(wasm.memory.buffer, 0, padded);
      f.set(a);
      f.fill(Number.NEGATIVE_INFINITY, n);
      const m = wasm.rowMax(0, 4 * padded);
      expect(m).toBe(Math.max(...a));
      const c = Math.fround(Math.LOG2E / temperature);
      wasm.blockWeights(0, 4 * padded, m, c, 4 * padded);
      const out = new Float64Array(wasm.memory.buffer, 4 * padded, padded / BLOCK + 1).slice();
      const w = definitionWeights(a, temperature);
      let wy = 0;
      for (let b = 0; b < padded / BLOCK; b++) {
        let sum = 0;
        let argument = 0;
        for (let i = b * BLOCK; i < Math.min(n, (b + 1) * BLOCK); i++) {
          sum += w[i]!;
          const y = Math.max(((a[i]! - m) / temperature) * Math.LOG2E, -125);
          argument += w[i]! * -y;
          wy += 2 ** y * y;
        }
        const bound = (EXP2_ERROR + 2.5 * 2 ** -24) * sum + ARGUMENT_ERROR * argument + BLOCK * 2 ** -114;
        expect(Math.abs(out[b]! - sum), `n ${n} block ${b}`).toBeLessThanOrEqual(bound);
      }
      expect(Math.abs(out[padded / BLOCK]! / wy - 1)).toBeLessThan(1e-5);
    }
  });

  it('blockWeights64 block sums agree with float64 Math.exp within EXP2_64_ERROR', () => {
    const wasm = wasmSampling()!;
    const rng = makeRng(12);
    for (const [n, temperature, spread] of [
      [1001, 0.8, 3],
      [4099, 0.1, 1],
      [32000, 1.3, 0.3],
    ] as const) {
      const a = logitRow(rng, n, spread, 3);
      a[7] = Number.NEGATIVE_INFINITY;
      const padded = Math.ceil(n / BLOCK) * BLOCK;
      expect(ensureMemory(wasm.memory, 4 * padded + 8 * (padded / BLOCK))).toBe(true);
      const f = new Float32Array(wasm.memory.buffer, 0, padded);
      f.set(a);
      f.fill(Number.NEGATIVE_INFINITY, n);
      const m = Math.max(...a);
      wasm.blockWeights64(0, 4 * padded, m, Math.LOG2E / temperature, 4 * padded);
      const out = new Float64Array(wasm.memory.buffer, 4 * padded, padded / BLOCK).slice();
      const w = definitionWeights(a, temperature);
      let worst = 0;
      for (let b = 0; b < padded / BLOCK; b++) {
        let sum = 0;
        for (let i = b * BLOCK; i < Math.min(n, (b + 1) * BLOCK); i++) sum += w[i]!;
        const error = Math.abs(out[b]! - sum);
        expect(error, `n ${n} block ${b}`).toBeLessThanOrEqual((EXP2_64_ERROR + 1e-13) * sum + BLOCK * 2 ** -114);
        worst = Math.max(worst, error / sum);
      }
      expect(worst).toBeGreaterThan(0); // the float64 kernel is an approximation too
    }
  });

  it('weights64 stores every weight within EXP2_64_ERROR of float64 Math.exp and returns their sum', () => {
    const wasm = wasmSampling()!;
    const rng = makeRng(14);
    for (const [n, temperature] of [
      [1001, 0.7],
      [4099, 0.05],
    ] as const) {
      const a = logitRow(rng, n, 4, 2);
      a[3] = Number.NEGATIVE_INFINITY;
      const padded = Math.ceil(n / BLOCK) * BLOCK;
      expect(ensureMemory(wasm.memory, 12 * padded)).toBe(true);
      const f = new Float32Array(wasm.memory.buffer, 0, padded);
      f.set(a);
      f.fill(Number.NEGATIVE_INFINITY, n);
      const total = wasm.weights64(0, 4 * padded, Math.max(...a), Math.LOG2E / temperature, 4 * padded);
      const out = new Float64Array(wasm.memory.buffer, 4 * padded, n).slice();
      const w = definitionWeights(a, temperature);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        expect(Math.abs(out[i]! - w[i]!), `n ${n} token ${i}`).toBeLessThanOrEqual(
          (EXP2_64_ERROR + 1e-13) * w[i]! + 2 ** -114,
        );
        sum += w[i]!;
      }
      expect(Math.abs(total - sum)).toBeLessThanOrEqual((EXP2_64_ERROR + 1e-12) * sum);
    }
  });
});
