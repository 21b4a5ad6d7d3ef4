import { expect, it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward, type OpCheck } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import { type Ref, refSize } from '../testing/reference.js';

/** Applies f to each row (last axis) of x. */
function rowwise(x: Ref, f: (row: number[]) => number[]): Ref {
  const D = x.shape.at(-1)!;
  const data = new Float64Array(x.data.length);
  for (let r = 0; r * D < x.data.length; r++) {
    const out = f(Array.from(x.data.subarray(r * D, (r + 1) * D)));
    data.set(out, r * D);
  }
  return { shape: x.shape, data };
}

const lse = (row: number[]) => {
  const m = Math.max(...row);
  return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
};

function refCrossEntropy(logits: Ref, targets: Ref, ignore: number, reduction: 'mean' | 'sum' | 'none'): Ref {
  const V = logits.shape.at(-1)!;
  const losses: number[] = [];
  let count = 0;
  for (let n = 0; n < targets.data.length; n++) {
    const row = Array.from(logits.data.subarray(n * V, (n + 1) * V));
    const t = targets.data[n]!;
    if (t === ignore) losses.push(0);
    else {
      losses.push(lse(row) - row[t]!);
      count++;
    }
  }
  if (reduction === 'none') return { shape: targets.shape, data: Float64Array.from(losses) };
  const total = losses.reduce((a, b) => a + b, 0);
  return { shape: [], data: Float64Array.from([reduction === 'sum' ? total : total / Math.max(count, 1)]) };
}

function refRope(x: Ref, pos: Ref, theta: number, style: 'half' | 'interleaved'): Ref {
  const [B, Tn, H, Dh] = x.shape as [number, number, number, number];
  const data = new Float64Array(x.data.length);
  const half = Dh / 2;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < Tn; t++) {
      const p = pos.shape.length === 2 ? pos.data[b * Tn + t]! : pos.data[t]!;
      for (let h = 0; h < H; h++) {
        const base = ((b * Tn + t) * H + h) * Dh;
        for (let i = 0; i < half; i++) {
          const a = p * theta ** ((-2 * i) / Dh);
          const [i0, i1] = style === 'half' ? [base + i, base + i + half] : [base + 2 * i, base + 2 * i + 1];
          data[i0] = x.data[i0]! * Math.cos(a) - x.data[i1]! * Math.sin(a);
          data[i1] = x.data[i0]! * Math.sin(a) + x.data[i1]! * Math.cos(a);
        }
      }
    }
  return { shape: x.shape, data };
}

const checks: OpCheck[] = [
  {
    name: 'softmax last axis',
    inputs: [{ shape: [7, 33] }],
    run: (x) => x.softmax(),
    reference: (x) => rowwise(x, (r) => r.map((v) => Math.exp(v - lse(r)))),
  },
  {
    name: 'softmax axis 0',
    inputs: [{ shape: [5, 3] }],
    run: (x) => x.softmax(0),
    reference: (x) => {
      const out = new Float64Array(15);
      for (let j = 0; j < 3; j++) {
        const col = [0, 1, 2, 3, 4].map((i) => x.data[i * 3 + j]!);
        col.forEach((v, i) => {
          out[i * 3 + j] = Math.exp(v - lse(col));
        });
      }
      return { shape: [5, 3], data: out };
    },
  },
  {
    name: 'logSoftmax',
    inputs: [{ shape: [2, 3, 13] }],
    run: (x) => x.logSoftmax(-1),
    reference: (x) => rowwise(x, (r) => r.map((v) => v - lse(r))),
  },
  ...(['mean', 'sum', 'none'] as const).map(
    (reduction): OpCheck => ({
      name: `crossEntropy ${reduction} with ignored targets`,
      inputs: [{ shape: [2, 5, 17] }, { shape: [2, 5], kind: { low: -1, high: 17 } }],
      run: (l, t) => T.crossEntropy(l, t, { ignoreIndex: -1, reduction }),
      reference: (l, t) => refCrossEntropy(l, t, -1, reduction),
    }),
  ),
  {
    name: 'rmsNorm',
    inputs: [{ shape: [3, 5, 33] }, { shape: [33] }],
    run: (x, w) => T.rmsNorm(x, w, 1e-5),
    reference: (x, w) =>
      rowwise(x, (r) => {
        const rs = 1 / Math.sqrt(r.reduce((s, v) => s + v * v, 0) / r.length + 1e-5);
        return r.map((v, j) => v * rs * w.data[j]!);
      }),
  },
  ...(['half', 'interleaved'] as const).map(
    (style): OpCheck => ({
      name: `rope ${style}, positions [B, T]`,
      inputs: [{ shape: [2, 7, 3, 8] }, { shape: [2, 7], kind: { low: 0, high: 300 } }],
      run: (x, p) => T.rope(x, p, { theta: 10000, style }),
      reference: (x, p) => refRope(x, p, 10000, style),
      atol: 1e-4,
    }),
  ),
  {
    name: 'rope, positions [T]',
    inputs: [{ shape: [1, 13, 2, 6] }, { shape: [13], kind: { low: 0, high: 50 } }],
    run: (x, p) => T.rope(x, p, { theta: 500, style: 'half' }),
    reference: (x, p) => refRope(x, p, 500, 'half'),
    atol: 1e-4,
  },
  {
    name: 'embedding with repeated ids',
    inputs: [{ shape: [11, 6] }, { shape: [3, 7], kind: { low: 0, high: 11 } }],
    run: (table, ids) => T.embedding(table, ids),
    reference: (table, ids) => {
      const data = new Float64Array(refSize([3, 7, 6]));
      ids.data.forEach((id, n) => {
        data.set(table.data.subarray(id * 6, id * 6 + 6), n * 6);
      });
      return { shape: [3, 7, 6], data };
    },
  },
];

describeBackends('fused ops', () => {
  for (const check of checks) {
    it(`${check.name}: forward and backward`, async () => {
      await expectForward(check);
      await expectBackward(check);
    });
  }

  it('crossEntropy and embedding reject ids out of range, naming the op', () => {
    const logits = T.zeros([2, 4]);
    const table = T.zeros([4, 3]);
    const bad = T.tensor([1, 4], undefined, { dtype: 'int32' });
    expect(() => T.crossEntropy(logits, bad)).toThrow(
      /crossEntropy: target 4 at flat index 1 of \[2\] is out of range \[0, 4\)/,
    );
    expect(() => T.embedding(table, bad)).toThrow(/embedding: id 4 at flat index 1 of \[2\] is out of range/);
    const floatIds = T.tensor([1, 2]);
    expect(() => T.crossEntropy(logits, floatIds)).toThrow(/crossEntropy: targets must be int32, got float32/);
    for (const t of [logits, table, bad, floatIds]) t.dispose();
  });

  it('fused rmsNorm and crossEntropy equal their compositions from primitive ops, values and gradients', async () => {
    const x = T.randn([3, 4, 24], { seed: 21, requiresGrad: true });
    const w = T.randn([24], { seed: 22, requiresGrad: true });
    const targets = T.randint(0, 24, [3, 4], { seed: 23 });
    const run = (fused: boolean) =>
      T.tidy(() => {
        const h = fused ? T.rmsNorm(x, w, 1e-5) : x.mul(x.square().mean(-1, true).add(1e-5).rsqrt()).mul(w);
        if (fused) return T.crossEntropy(h, targets);
        const oneHot = T.eq(T.arange(24), targets.unsqueeze(-1)).float();
        return h.logSoftmax(-1).mul(oneHot).sum().neg().div(12);
      });
    const results: Float32Array[][] = [];
    for (const fused of [true, false]) {
      const loss = run(fused);
      loss.backward();
      results.push([
        (await loss.data()) as Float32Array,
        (await x.grad!.data()) as Float32Array,
        (await w.grad!.data()) as Float32Array,
      ]);
      T.zeroGrad([x, w]);
      loss.dispose();
    }
    for (let i = 0; i < 3; i++) {
      const [a, b] = [results[0]![i]!, results[1]![i]!];
      a.forEach((v, j) => {
        expect(v).toBeCloseTo(b[j]!, 5);
      });
    }
    for (const t of [x, w, targets]) t.dispose();
  });

  it('mean crossEntropy counts ignored targets the same when ids are only on the device', async () => {
    const logits = T.tensor([
      [1, 2, 3],
      [0, 0, 0],
      [3, 1, -1],
    ]);
    // Ids computed by a kernel have no host copy on GPU backends: the divisor is counted on the device.
    const targets = T.tensor([2, -100, 0]).int();
    const loss = T.crossEntropy(logits, targets);
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const expected = (lse([1, 2, 3]) - 3 + (lse([3, 1, -1]) - 3)) / 2;
    expect(await loss.item()).toBeCloseTo(expected, 5);
    for (const t of [logits, targets, loss]) t.dispose();
  });

  it('mean crossEntropy with every target ignored is 0', async () => {
    const logits = T.randn([3, 5]);
    const targets = T.full([3], -100, { dtype: 'int32' });
    const loss = T.crossEntropy(logits, targets);
    expect(await loss.item()).toBe(0);
    for (const t of [logits, targets, loss]) t.dispose();
  });

  it('dropout keeps the expected fraction, scales by 1/(1-p), repeats with a seed and is identity when not training', async () => {
    const x = T.ones([4000]);
    const y = T.dropout(x, 0.25, { seed: 7 });
    const y2 = T.dropout(x, 0.25, { seed: 7 });
    const values = Array.from(await y.data());
    expect(Array.from(await y2.data())).toEqual(values);
    const kept = values.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(kept.length / values.length).toBeGreaterThan(0.72);
    expect(kept.length / values.length).toBeLessThan(0.78);
    const id = T.dropout(x, 0.5, { training: false });
    expect(Array.from(await id.data()).every((v) => v === 1)).toBe(true);
    for (const t of [x, y, y2, id]) t.dispose();
  });

  it('dropout backward is the same mask', async () => {
    const x = T.randn([50], { requiresGrad: true, seed: 3 });
    const y = T.dropout(x, 0.5, { seed: 11 });
    y.sum().backward();
    const yv = await y.data();
    const xv = await x.data();
    const g = await x.grad!.data();
    for (let i = 0; i < 50; i++) expect(g[i]).toBeCloseTo(yv[i] === 0 && xv[i] !== 0 ? 0 : 2, 5);
    x.dispose();
    y.dispose();
  });

  it('random creators give the same values on every backend (Philox)', async () => {
    const a = T.randn([5], { seed: 42 });
    const u = T.rand([3], { seed: 42 });
    // Values pinned from the CPU reference generator.
    const { philoxFill } = await import('../random/philox.js');
    const expectedN = philoxFill('normal', new Float32Array(5), 42, 0);
    const expectedU = philoxFill('uniform', new Float32Array(3), 42, 0);
    const an = await a.data();
    for (let i = 0; i < 5; i++) expect(an[i]).toBeCloseTo(expectedN[i]!, 5);
    expect(Array.from(await u.data())).toEqual(Array.from(expectedU));
    const r = T.randint(3, 9, [1000], { seed: 1 });
    const rv = Array.from(await r.data());
    expect(r.dtype).toBe('int32');
    expect(Math.min(...rv)).toBe(3);
    expect(Math.max(...rv)).toBe(8);
    for (const t of [a, u, r]) t.dispose();
  });
});
