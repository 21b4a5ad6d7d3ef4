import { expect, it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import { type Ref, worstMismatch } from '../testing/reference.js';
import { refRoundHalf } from './half-test-support.js';

/** Float64 attention: per query row, softmax over visible keys (s ≤ t + S − T when causal), GQA head sharing. */
function refAttention(q: Ref, k: Ref, v: Ref, causal: boolean): Ref {
  const [B, Hq, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, S] = k.shape as [number, number, number];
  const scale = 1 / Math.sqrt(D);
  const out = new Float64Array(q.data.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const kv = (b * Hkv + Math.floor(h / (Hq / Hkv))) * S * D;
      for (let t = 0; t < Tq; t++) {
        const qo = ((b * Hq + h) * Tq + t) * D;
        const limit = causal ? Math.min(S, t + S - Tq + 1) : S;
        const scores: number[] = [];
        for (let s = 0; s < limit; s++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[qo + d]! * k.data[kv + s * D + d]!;
          scores.push(dot * scale);
        }
        const m = Math.max(...scores);
        const p = scores.map((x) => Math.exp(x - m));
        const z = p.reduce((a, c) => a + c, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let s = 0; s < limit; s++) acc += p[s]! * v.data[kv + s * D + d]!;
          out[qo + d] = acc / z;
        }
      }
    }
  return { shape: q.shape, data: out };
}

/** The same attention composed from primitive ops (matmul, mask, softmax), for a differentiable cross-check. */
function naiveAttention(q: T.Tensor, k: T.Tensor, v: T.Tensor, causal: boolean): T.Tensor {
  return T.tidy(() => {
    const [B, Hq, Tq, D] = q.shape as [number, number, number, number];
    const [, Hkv, S] = k.shape as [number, number, number];
    const g = Hq / Hkv;
    const widen = (x: T.Tensor) => x.unsqueeze(2).expand([B, Hkv, g, S, D]).reshape([B, Hq, S, D]);
    let scores = q.matmul(widen(k).transpose(-1, -2)).mul(1 / Math.sqrt(D));
    if (causal) {
      const mask = new Float32Array(Tq * S);
      for (let t = 0; t < Tq; t++) for (let s = 0; s < S; s++) mask[t * S + s] = s <= t + S - Tq ? 0 : -1e9;
      scores = scores.add(T.tensor(mask, [Tq, S]));
    }
    return scores.softmax(-1).matmul(widen(v));
  });
}

async function expectClose(a: T.Tensor, b: T.Tensor, atol: number, what: string): Promise<void> {
  const av = await a.data();
  const bv = await b.data();
  const w = worstMismatch(av, bv, atol, atol);
  if (w.index >= 0) expect.fail(`${what}: element ${w.index} is ${w.actual}, expected ${w.expected}`);
}

describeBackends('scaledDotProductAttention', () => {
  it('matches float64 and finite differences on a small GQA case', async () => {
    for (const causal of [true, false]) {
      const check = {
        name: `attention causal=${causal}`,
        inputs: [{ shape: [2, 4, 7, 8] }, { shape: [2, 2, 7, 8] }, { shape: [2, 2, 7, 8] }],
        run: (q: T.Tensor, k: T.Tensor, v: T.Tensor) => T.scaledDotProductAttention(q, k, v, { causal }),
        reference: (q: Ref, k: Ref, v: Ref) => refAttention(q, k, v, causal),
        atol: 1e-5,
      };
      await expectForward(check);
      await expectBackward(check);
    }
  });

  it('decodes against a longer KV cache (T < S): last query sees every key', async () => {
    for (const [Tq, S] of [
      [1, 9],
      [5, 12],
    ] as const) {
      await expectForward({
        name: `attention T=${Tq} S=${S}`,
        inputs: [{ shape: [1, 4, Tq, 16] }, { shape: [1, 2, S, 16] }, { shape: [1, 2, S, 16] }],
        run: (q, k, v) => T.scaledDotProductAttention(q, k, v),
        reference: (q, k, v) => refAttention(q, k, v, true),
      });
    }
  });

  it('reads float16 / bfloat16 keys and values (a half KV cache window) as their decoded values', async () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const round = (r: Ref): Ref => ({ shape: r.shape, data: r.data.map((x) => refRoundHalf(dtype, x)) });
      await expectForward({
        name: `attention with ${dtype} k/v`,
        inputs: [{ shape: [1, 4, 3, 16] }, { shape: [1, 2, 11, 16] }, { shape: [1, 2, 11, 16] }],
        // A window of a longer half cache: [1, 2, 22, 16] sliced to the first 11 positions (not contiguous).
        run: (q, k, v) => {
          const cache = (t: T.Tensor) => T.concat([t.to(dtype), t.to(dtype)], 2).slice(2, 0, 11);
          return T.scaledDotProductAttention(q, cache(k), cache(v));
        },
        reference: (q, k, v) => refAttention(q, round(k), round(v), true),
      });
    }
  });

  for (const Tq of [1, 7, 64, 333]) {
    it(`fused equals the naive composition at T=${Tq} (Hq=4, Hkv=2), forward and gradients`, async () => {
      const q = T.randn([1, 4, Tq, 16], { seed: Tq, requiresGrad: true });
      const k = T.randn([1, 2, Tq, 16], { seed: Tq + 1, requiresGrad: true });
      const v = T.randn([1, 2, Tq, 16], { seed: Tq + 2, requiresGrad: true });
      const dO = T.randn([1, 4, Tq, 16], { seed: Tq + 3 });
      const fused = T.scaledDotProductAttention(q, k, v);
      fused.backward(dO);
      const fusedGrads = [q, k, v].map((t) => t.grad!.detach());
      T.zeroGrad([q, k, v]);
      const naive = naiveAttention(q, k, v, true);
      naive.backward(dO);
      await expectClose(fused, naive, 2e-5, `attention forward T=${Tq}`);
      for (const [i, name] of ['dq', 'dk', 'dv'].entries()) {
        await expectClose(fusedGrads[i]!, [q, k, v][i]!.grad!, 2e-4, `attention ${name} T=${Tq}`);
      }
      for (const t of [q, k, v, dO, fused, naive, ...fusedGrads]) t.dispose();
    });
  }

  it('rejects mismatched head counts with the shapes in the message', () => {
    const q = T.zeros([1, 3, 4, 8]);
    const k = T.zeros([1, 2, 4, 8]);
    expect(() => T.scaledDotProductAttention(q, k, k)).toThrow(/Hq % Hkv = 0; got q \[1, 3, 4, 8\], k \[1, 2, 4, 8\]/);
    q.dispose();
    k.dispose();
  });
});
