/**
 * Test support for float16 / bfloat16 tensors (no test-runner imports): an independent float64 model of IEEE
 * rounding to a narrower binary format, the boundary values every conversion test walks, and the WebGPU half-storage
 * paths a test should cover on the current backend.
 *
 * @module
 */
import type { HalfDType } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import type { WebGpuBackend } from '../webgpu/backend.js';

/** Format parameters: fraction bits, smallest normal exponent, largest finite value. */
const FORMATS: Record<HalfDType, { bits: number; emin: number; max: number }> = {
  float16: { bits: 10, emin: -14, max: 65504 },
  bfloat16: { bits: 7, emin: -126, max: (2 - 2 ** -7) * 2 ** 127 },
};

/**
 * `v` rounded to `dtype` by the IEEE 754 definition, computed in float64 without the codec under test: the nearest
 * multiple of the format's spacing at v's binade (subnormal spacing below the smallest normal), ties to an even
 * multiple, and ±Infinity once the rounded magnitude exceeds the largest finite value.
 */
export function refRoundHalf(dtype: HalfDType, v: number): number {
  const { bits, emin, max } = FORMATS[dtype];
  if (Number.isNaN(v) || v === 0 || !Number.isFinite(v)) return v;
  const a = Math.abs(v);
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  const spacing = 2 ** (Math.max(e, emin) - bits);
  const q = a / spacing;
  const f = Math.floor(q);
  const r = q - f;
  const n = r > 0.5 || (r === 0.5 && f % 2 === 1) ? f + 1 : f;
  const mag = n * spacing > max ? Number.POSITIVE_INFINITY : n * spacing;
  return v < 0 ? -mag : mag;
}

/** The boundary values of `dtype`: halfway cases, the largest finite value and its overflow, subnormals, specials. */
export function boundaryValues(dtype: HalfDType): number[] {
  const { bits, emin, max } = FORMATS[dtype];
  const ulp1 = 2 ** -bits;
  const tiny = 2 ** (emin - bits);
  const maxUlp = 2 ** (Math.floor(Math.log2(max)) - bits);
  const values = [
    0,
    -0,
    1,
    1 + ulp1 / 2, // tie → even (1)
    1 + (3 * ulp1) / 2, // tie → even (1 + 2ulp)
    1 + ulp1 / 2 + 2 ** -23, // just above the tie → up
    -(1 + ulp1 / 2),
    max,
    -max,
    max + maxUlp / 4, // rounds back down to max
    max + maxUlp / 2, // tie with 2^(emax+1): overflows to Infinity
    -(max + maxUlp / 2),
    tiny, // smallest subnormal
    tiny / 2, // tie → 0
    (tiny * 3) / 4, // → tiny
    (tiny * 3) / 2, // tie → 2·tiny
    2 ** emin, // smallest normal
    2 ** emin - tiny, // largest subnormal
    -tiny,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
  ];
  return values.map(Math.fround);
}

/** `n` float32 values over a wide range of magnitudes and signs (seeded), to go with the boundary values. */
export function spreadValues(n: number, seed: number, minExp: number, maxExp: number): number[] {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: n }, () => {
    const sign = next() < 0.5 ? -1 : 1;
    return Math.fround(sign * (1 + next()) * 2 ** Math.floor(minExp + next() * (maxExp - minExp)));
  });
}

/**
 * The half-storage bindings to test on the current backend, each applied by `use()`: one on the CPU; on WebGPU the
 * packed u32 path always (whatever the adapter offers) and the native f16 path where the device has `shader-f16`.
 */
export function halfPaths(): { name: string; use: () => void }[] {
  const backend = getBackend();
  if (backend.name !== 'webgpu') return [{ name: 'cpu', use: () => {} }];
  const rt = (backend as WebGpuBackend).rt;
  const paths = [{ name: 'packed', use: () => void (rt.halfNative = false) }];
  if (rt.features.has('shader-f16')) paths.push({ name: 'native', use: () => void (rt.halfNative = true) });
  return paths;
}
