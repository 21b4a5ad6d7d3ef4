import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HalfDType } from '../backend/backend.js';
import * as T from '../index.js';
import { refRoundHalf } from '../ops/half-test-support.js';
import { makeRng } from '../testing/reference.js';
import { setCpuMatmulKernels } from './matmul.js';
import type { CpuStorage } from './storage.js';
import { heapBlock } from './wasm-heap.js';

/** Every finite float16 value, from its bit fields in float64 (65 536 patterns less the 2·1023 NaNs and 2 Infs). */
function everyFiniteFloat16(): number[] {
  const out: number[] = [];
  for (let h = 0; h < 0x10000; h++) {
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0x1f) continue;
    out.push((h & 0x8000 ? -1 : 1) * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15)));
  }
  return out;
}

/** float64 x · wᵀ for x [M, K], w [N, K] given as values. */
function refLinear(x: ArrayLike<number>, w: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k]! * w[n * K + k]!;
      out[m * N + n] = s;
    }
  }
  return out;
}

describe('CPU few-row products with a half weight (SIMD and scalar kernels)', () => {
  beforeAll(() => T.setBackend('cpu'));
  afterEach(() => setCpuMatmulKernels('wasm'));

  for (const kernels of ['wasm', 'js'] as const) {
    it(`${kernels}: decodes every float16 value exactly (one-hot rows pick out each column)`, async () => {
      setCpuMatmulKernels(kernels);
      const values = everyFiniteFloat16(); // 63 488 = 7936 rows of 8
      const w = T.tensor(values, [values.length / 8, 8], { dtype: 'float16' });
      for (let k = 0; k < 8; k++) {
        const onehot = T.tensor(
          Array.from({ length: 8 }, (_, j) => (j === k ? 1 : 0)),
          [1, 8],
        );
        const y = await T.linear(onehot, w).data();
        for (let n = 0; n < y.length; n++) {
          if (!Object.is(y[n], values[n * 8 + k]! + 0))
            throw new Error(`row ${n} col ${k}: ${y[n]} vs ${values[n * 8 + k]}`);
        }
        onehot.dispose();
      }
      // Infinities and NaN (which a one-hot row would turn into 0·∞ = NaN) against a row of ones.
      const special = T.tensor(
        [Infinity, 1, 2, -3, 0, 0, 0, 0, -Infinity, 1, 0, 0, 0, 0, 0, 0, NaN, 0, 0, 0, 0, 0, 0, 0],
        [3, 8],
        {
          dtype: 'float16',
        },
      );
      const y = await T.linear(T.ones([1, 8]), special).data();
      expect(Array.from(y)).toEqual([Infinity, -Infinity, NaN]);
      w.dispose();
      special.dispose();
    });

    it(`${kernels}: matches float64 for odd K, strided rows, several rows and bfloat16`, async () => {
      setCpuMatmulKernels(kernels);
      const rng = makeRng(11);
      for (const dtype of ['float16', 'bfloat16'] as HalfDType[]) {
        const [M, N, K, wide] = [3, 19, 37, 45];
        const xv = Array.from({ length: M * K }, () => rng() * 2 - 1);
        const wv = Array.from({ length: N * wide }, () => rng() * 2 - 1);
        const full = T.tensor(wv, [N, wide], { dtype });
        const w = full.slice(1, 3, 3 + K); // rows K-contiguous, row stride 45
        const got = await T.linear(T.tensor(xv, [M, K]), w).data();
        const wRef = Array.from({ length: N * K }, (_, i) =>
          refRoundHalf(dtype, Math.fround(wv[Math.floor(i / K) * wide + 3 + (i % K)]!)),
        );
        const want = refLinear(xv.map(Math.fround), wRef, M, N, K);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(4 * K * 2 ** -24);
        full.dispose();
      }
    });
  }

  it('wasm: a half weight moves into wasm memory on its second use and is read there in place', async () => {
    const rng = makeRng(12);
    for (const dtype of ['float16', 'bfloat16'] as HalfDType[]) {
      const [N, K] = [300, 256]; // 76 800 halves: large enough to move, K a multiple of 8
      const wv = Array.from({ length: N * K }, () => rng() * 2 - 1);
      const xv = Array.from({ length: K }, () => rng() * 2 - 1);
      const w = T.tensor(wv, [N, K], { dtype });
      const x = T.tensor(xv, [1, K]);
      const check = async (values: number[]) => {
        const want = refLinear(
          xv.map(Math.fround),
          values.map((v) => refRoundHalf(dtype, Math.fround(v))),
          1,
          N,
          K,
        );
        const got = await T.linear(x, w).data();
        for (let i = 0; i < N; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(4 * K * 2 ** -24);
      };
      await check(wv);
      expect(heapBlock(w.storage as CpuStorage)).toBeUndefined();
      await check(wv);
      expect(heapBlock(w.storage as CpuStorage)).toBeDefined();
      await check(wv);
      // Writes land in wasm memory: the next product sees them.
      const wv2 = wv.map((v) => -v / 2);
      w.assign(T.tensor(wv2, [N, K]));
      await check(wv2);
      w.dispose();
      x.dispose();
    }
  });
});
