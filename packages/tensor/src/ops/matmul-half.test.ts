import { expect, it } from 'vitest';
import type { DType } from '../backend/backend.js';
import * as T from '../index.js';
import { describeBackends } from '../testing/describe-backends.js';
import { makeRng, type Ref, refMatmul, worstMismatch } from '../testing/reference.js';
import { halfPaths } from './half-test-support.js';

/** A random tensor of `dtype` and its values as stored (decoded), for the float64 reference. */
async function operand(shape: number[], dtype: DType, seed: number): Promise<{ t: T.Tensor; ref: Ref }> {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const t = T.tensor(
    Array.from({ length: n }, () => rng() * 2 - 1),
    shape,
    { dtype },
  );
  return { t, ref: { shape, data: Float64Array.from(await t.data()) } };
}

/** The [K, N] reference of a weight stored [N, K] (so the product reads it transposed). */
function transposedRef(w: Ref): Ref {
  const [n, k] = w.shape as [number, number];
  const data = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) data[j * n + i] = w.data[i * k + j]!;
  return { shape: [k, n], data };
}

async function expectClose(y: T.Tensor, ref: Ref, K: number, what: string): Promise<void> {
  expect(y.dtype).toBe('float32');
  expect(y.shape).toEqual(ref.shape);
  // Products of values in [-1, 1], summed in float32: error ≲ K·2⁻²⁴ per unit of magnitude.
  const tol = 4 * K * 2 ** -24;
  const bad = worstMismatch(await y.data(), ref.data, tol, tol);
  if (bad.index >= 0) throw new Error(`${what}: element ${bad.index} is ${bad.actual}, float64 says ${bad.expected}`);
}

describeBackends('matmul with float16 / bfloat16 operands', () => {
  it('matches float64 of the decoded halves: decode row, rows, both layouts of b, batched, half a', async () => {
    // On WebGPU the packed path (the one every adapter has); the native path's subset follows.
    for (const path of halfPaths().slice(0, 1)) {
      path.use();
      for (const dtype of ['float16', 'bfloat16'] as const) {
        const where = `${dtype} ${path.name}`;
        // One-row decode through linear: weight [N, K] read transposed (K-contiguous).
        const x1 = await operand([1, 37], 'float32', 1);
        const w = await operand([19, 37], dtype, 2);
        await expectClose(T.linear(x1.t, w.t), refMatmul(x1.ref, transposedRef(w.ref)), 37, `decode ${where}`);
        // Several rows against the same weight transposed, and against a row-major [K, N] half b.
        const x5 = await operand([5, 37], 'float32', 3);
        const b = await operand([37, 23], dtype, 4);
        await expectClose(T.linear(x5.t, w.t), refMatmul(x5.ref, transposedRef(w.ref)), 37, `rows·Wᵀ ${where}`);
        await expectClose(T.matmul(x5.t, b.t), refMatmul(x5.ref, b.ref), 37, `rows ${where}`);
        // One row against a row-major half b (N-contiguous decode).
        await expectClose(T.matmul(x1.t, b.t), refMatmul(x1.ref, b.ref), 37, `decode N-contiguous ${where}`);
        // Batched with broadcast, the half operand on the left.
        const a = await operand([3, 1, 4, 13], dtype, 5);
        const bb = await operand([2, 13, 9], 'float32', 6);
        await expectClose(T.matmul(a.t, bb.t), refMatmul(a.ref, bb.ref), 13, `batched ${where}`);
        for (const o of [x1, w, x5, b, a, bb]) o.t.dispose();
      }
    }
  });

  it('multiplies two half operands of different types, and reads native f16 where the adapter has it', async () => {
    for (const path of halfPaths()) {
      path.use();
      const a = await operand([6, 11], 'bfloat16', 7);
      const b = await operand([11, 5], 'float16', 8);
      await expectClose(T.matmul(a.t, b.t), refMatmul(a.ref, b.ref), 11, `bf16·f16 ${path.name}`);
      const x = await operand([1, 29], 'float32', 9);
      const w = await operand([13, 29], 'float16', 10);
      await expectClose(T.linear(x.t, w.t), refMatmul(x.ref, transposedRef(w.ref)), 29, `decode f16 ${path.name}`);
      for (const o of [a, b, x, w]) o.t.dispose();
    }
  });
});
