import { expect, it } from 'vitest';
import { makeRng } from '../testing/reference.js';
import { EXP2_64_COEFFICIENTS, EXP2_64_ERROR, EXP2_COEFFICIENTS, EXP2_ERROR } from './exp2-polynomial.js';

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

it('float32 2^f stays within EXP2_ERROR on [−1/2, 1/2], fused or not (the bound is not vacuous either)', () => {
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

it('float64 2^f (Horner, as the unfused kernel) stays within EXP2_64_ERROR, not vacuously', () => {
  const rng = makeRng(4);
  const c = EXP2_64_COEFFICIENTS;
  let worst = 0;
  for (let i = 0; i < 200000; i++) {
    const f = i < 2 ? i - 0.5 : rng() - 0.5;
    let p = c[c.length - 1]!;
    for (let k = c.length - 2; k >= 0; k--) p = p * f + c[k]!;
    worst = Math.max(worst, Math.abs(p / 2 ** f - 1));
  }
  expect(worst).toBeLessThanOrEqual(EXP2_64_ERROR);
  expect(worst).toBeGreaterThan(EXP2_64_ERROR / 10);
});
