import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRng } from '../testing/reference.js';
import { definitionWeights, logitRow } from '../testing/sampling-reference.js';
import { ARGUMENT_ERROR } from './draw-by-blocks.js';
import { ensureMemory } from './wasm-heap.js';
import { relaxedSimdSupported, setWasmRelaxedSimd } from './wasm-relaxed-simd.js';
import { BLOCK, EXP2_COEFFICIENTS, EXP2_ERROR, wasmSampling } from './wasm-sampling.js';

/**
 * float32 Horner of the kernel's coefficients, as the kernel evaluates 2^f: a multiply and an add, or fused (one
 * rounding: the float64 product of two float32s is exact, the float64 sum rounds 2^-53 before the float32 rounding).
 */
function exp2Poly(f: number, fused: boolean): number {
  const c = EXP2_COEFFICIENTS;
  let p = c[c.length - 1]!;
  for (let k = c.length - 2; k >= 0; k--) p = Math.fround((fused ? p * f : Math.fround(p * f)) + c[k]!);
  return p;
}

it('2^f stays within EXP2_ERROR on [−1/2, 1/2], fused or not (the bound is not vacuous either)', () => {
  const rng = makeRng(3);
  const fs = [-0.5, 0.5, 0, -0, 2 ** -30, -(2 ** -30)];
  for (let i = 0; i < 200000; i++) fs.push(Math.fround(rng() - 0.5));
  for (const fused of [false, true]) {
    let worst = 0;
    for (const f of fs) worst = Math.max(worst, Math.abs(exp2Poly(f, fused) / 2 ** f - 1));
    expect(worst).toBeLessThanOrEqual(EXP2_ERROR);
    expect(worst).toBeGreaterThan(EXP2_ERROR / 10);
  }
});

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
});
