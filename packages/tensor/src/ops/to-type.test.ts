import { expect, it } from 'vitest';
import type { HalfDType } from '../backend/backend.js';
import * as T from '../index.js';
import { describeBackends } from '../testing/describe-backends.js';
import { boundaryValues, halfPaths, refRoundHalf, spreadValues } from './half-test-support.js';

/** Compares element-wise, treating NaN = NaN and telling -0 from +0. */
function expectSameValues(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Object.is(a, e)) throw new Error(`${what}: element ${i} is ${a}, expected ${e}`);
  }
  expect(actual.length).toBe(expected.length);
}

/** Every float16 value (all 65 536 bit patterns but NaNs), computed from the bit fields in float64. */
function everyFloat16(): number[] {
  const out: number[] = [];
  for (let h = 0; h < 0x10000; h++) {
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    const sign = h & 0x8000 ? -1 : 1;
    if (e === 0x1f && m !== 0) continue;
    out.push(e === 0x1f ? sign * Infinity : sign * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15)));
  }
  return out;
}

const HALVES: [HalfDType, number, number][] = [
  ['float16', -26, 17],
  ['bfloat16', -134, 128],
];

describeBackends('float16 / bfloat16 tensors', () => {
  it('round to nearest even at every boundary: host writes, device casts, full/zeros/ones', async () => {
    for (const path of halfPaths()) {
      path.use();
      for (const [dtype, minExp, maxExp] of HALVES) {
        const values = [...boundaryValues(dtype), ...spreadValues(500, 7, minExp, maxExp)];
        const expected = values.map((v) => refRoundHalf(dtype, v));
        const where = `${dtype} ${path.name}`;
        T.tidy(() => {});
        const host = T.tensor(values, [values.length], { dtype });
        expect(host.dtype).toBe(dtype);
        expectSameValues(await host.data(), expected, `host write ${where}`);
        const src = T.tensor(values);
        // A strided view goes through the same kernel: a reversed-order copy of the cast must match too.
        const cast = src.to(dtype);
        expectSameValues(await cast.data(), expected, `cast ${where}`);
        const back = cast.float();
        expect(back.dtype).toBe('float32');
        expectSameValues(await back.data(), expected, `cast back ${where}`);
        const full = T.full([3, 5], 65519, { dtype });
        expectSameValues(await full.data(), new Array(15).fill(refRoundHalf(dtype, 65519)), `full ${where}`);
        expectSameValues(await T.ones([7], { dtype }).data(), new Array(7).fill(1), `ones ${where}`);
        for (const t of [host, src, cast, back, full]) t.dispose();
      }
    }
  });

  it('decodes every float16 value exactly, and converts between the two half types once', async () => {
    for (const path of halfPaths()) {
      path.use();
      const all = everyFloat16();
      const h = T.tensor(all, [all.length], { dtype: 'float16' });
      expectSameValues(await h.float().data(), all, `f16 decode ${path.name}`);
      // f16 → bf16 is a single rounding of the exact value.
      const bf = h.to('bfloat16');
      expectSameValues(
        await bf.data(),
        all.map((v) => refRoundHalf('bfloat16', Math.fround(v))),
        `f16→bf16 ${path.name}`,
      );
      h.dispose();
      bf.dispose();
    }
  });

  it('copies into a half window from float32 (rounding), and makes contiguous copies of half views', async () => {
    for (const path of halfPaths()) {
      path.use();
      for (const [dtype] of HALVES) {
        const base = spreadValues(7 * 9, 3, -8, 8);
        const cache = T.tensor(base, [7, 9], { dtype });
        const src = spreadValues(7 * 3, 5, -10, 10);
        const window = cache.slice(1, 2, 5); // [7, 3], odd row stride: halves of words shared with neighbours
        window.assign(T.tensor(src, [3, 7]).transpose(0, 1));
        const expected = base.map((v) => refRoundHalf(dtype, v));
        for (let r = 0; r < 7; r++) {
          for (let c = 0; c < 3; c++) expected[r * 9 + 2 + c] = refRoundHalf(dtype, src[c * 7 + r]!);
        }
        expectSameValues(await cache.data(), expected, `assign ${dtype} ${path.name}`);
        const col = cache.transpose(0, 1).contiguous(); // a non-contiguous half view copied
        expect(col.dtype).toBe(dtype);
        const cols = Array.from({ length: 63 }, (_, i) => expected[(i % 7) * 9 + Math.floor(i / 7)]!);
        expectSameValues(await col.data(), cols, `contiguous ${dtype} ${path.name}`);
        const joined = T.concat([cache.slice(0, 0, 2), cache.slice(0, 5, 7)], 0);
        expectSameValues(await joined.data(), [...expected.slice(0, 18), ...expected.slice(45)], `concat ${dtype}`);
        for (const t of [cache, window, col, joined]) t.dispose();
      }
    }
  });

  it('counts 2 bytes per element', () => {
    const before = T.memory().bytes;
    const h = T.zeros([3, 5], { dtype: 'bfloat16' });
    expect(T.memory().bytes - before).toBe(30);
    h.dispose();
    expect(T.memory().bytes).toBe(before);
  });

  it('passes gradients through casts back to the float32 source', async () => {
    const x = T.tensor(spreadValues(12, 9, -3, 2), [3, 4], { requiresGrad: true });
    const w = T.tensor(spreadValues(20, 4, -3, 2), [4, 5], { requiresGrad: true });
    const wv = await w.data();
    const loss = T.matmul(x.half(), w.to('bfloat16')).sum();
    loss.backward();
    // d/dx Σ (x·w) = 1·wᵀ: each row of the gradient is the row sums of w (as bfloat16 rounded them).
    const rowSums = [0, 1, 2, 3].map((k) => {
      let s = 0;
      for (let n = 0; n < 5; n++) s += refRoundHalf('bfloat16', wv[k * 5 + n]!);
      return s;
    });
    const gx = await x.grad!.data();
    for (let i = 0; i < 12; i++) expect(gx[i]).toBeCloseTo(rowSums[i % 4]!, 5);
    expect(w.grad!.dtype).toBe('float32');
    for (const t of [x, w, loss]) t.dispose();
  });

  it('rejects every other op with an error naming the op and dtype and saying how to cast', () => {
    const h = T.ones([2, 3], { dtype: 'float16' });
    expect(() => h.add(1)).toThrow(/add: got a float16 tensor \[2, 3\].*\.float\(\)/);
    expect(() => h.exp()).toThrow(/exp: got a float16 tensor/);
    expect(() => T.softmax(h, -1)).toThrow(/softmax: got a float16/);
    expect(() => h.sum()).toThrow(/sum: got a float16/);
    expect(() => T.ones([2], { dtype: 'bfloat16' }).requiresGrad_()).toThrow(/only float32 tensors can require grad/);
    expect(() => T.arange(0, 4, 1, { dtype: 'float16' })).toThrow(/arange: dtype float16/);
    expect(() => T.matmul(T.ones([2, 2], { dtype: 'int32' }), h)).toThrow(/matmul: a must be float32, float16/);
    h.dispose();
  });
});
