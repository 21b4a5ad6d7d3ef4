/**
 * One training step of a small LLaMA-shaped model through the public @andes/tensor API on the WebGPU backend:
 * embedding → 2 × (rmsNorm, q/k/v projections, rope, fused causal attention, output projection, rmsNorm, SwiGLU MLP)
 * → rmsNorm → LM head → crossEntropy → backward → fused AdamW on every parameter.
 * tfjs-webgpu has no comparable row: tfjs-core's gradient registry is not importable from Node ESM here.
 *
 * @module
 */

import * as T from '../src/index.js';
import type { WebGpuBackend } from '../src/webgpu/backend.js';
import type { Bench } from './harness.js';

/** Dispatches recorded on the current (WebGPU) backend while `fn` runs. */
async function countDispatches(fn: () => Promise<unknown>): Promise<number> {
  const rt = (T.getBackend() as WebGpuBackend).rt;
  const before = rt.dispatchCount;
  await fn();
  return rt.dispatchCount - before;
}

/** Milliseconds per step and tokens per second for batch B × T tokens. */
export async function trainRow(_b: Bench, cfg = { V: 512, d: 256, H: 4, L: 2, B: 2, T: 128 }): Promise<void> {
  await T.setBackend('webgpu');
  const { V, d, H, L, B } = cfg;
  const Tn = cfg.T;
  const Dh = d / H;
  T.setSeed(1);
  const w = (rows: number, cols: number) =>
    T.keep(T.tidy(() => T.randn([rows, cols]).mul(1 / Math.sqrt(rows)))).requiresGrad_();
  const params: T.Tensor[] = [];
  const track = (t: T.Tensor) => {
    params.push(t);
    return t;
  };
  const emb = track(T.keep(T.tidy(() => T.randn([V, d]).mul(0.02))).requiresGrad_());
  const layers = Array.from({ length: L }, () => ({
    n1: track(T.ones([d], { requiresGrad: true })),
    wq: track(w(d, d)),
    wk: track(w(d, d)),
    wv: track(w(d, d)),
    wo: track(w(d, d)),
    n2: track(T.ones([d], { requiresGrad: true })),
    w1: track(w(d, 4 * d)),
    w3: track(w(d, 4 * d)),
    w2: track(w(4 * d, d)),
  }));
  const nf = track(T.ones([d], { requiresGrad: true }));
  const head = track(w(d, V));
  const moments = params.map((p) => [T.zerosLike(p), T.zerosLike(p)] as const);
  const ids = T.randint(0, V, [B, Tn], { dtype: 'int32' });
  const targets = T.randint(0, V, [B, Tn], { dtype: 'int32' });
  const pos = T.arange(0, Tn, 1, { dtype: 'int32' });
  let stepNo = 0;
  // BENCH_FUSED=0 composes the residual add + RMSNorm and silu·up from primitives (the dispatch count before fusion).
  const fused = process.env.BENCH_FUSED !== '0';
  const logits = (tokens: T.Tensor, Bn: number, Tl: number, at: T.Tensor) => {
    let x = T.embedding(emb, tokens);
    for (const l of layers) {
      const h = T.rmsNorm(x, l.n1, 1e-5);
      const heads = (wm: T.Tensor) => h.matmul(wm).reshape([Bn, Tl, H, Dh]);
      const q = T.rope(heads(l.wq), at).permute([0, 2, 1, 3]);
      const k = T.rope(heads(l.wk), at).permute([0, 2, 1, 3]);
      const v = heads(l.wv).permute([0, 2, 1, 3]);
      const a = T.scaledDotProductAttention(q, k, v, { causal: true }).permute([0, 2, 1, 3]).reshape([Bn, Tl, d]);
      if (fused) {
        const { sum, y } = T.addRmsNorm(x, a.matmul(l.wo), l.n2, 1e-5);
        x = sum.add(T.swiglu(y.matmul(l.w1), y.matmul(l.w3)).matmul(l.w2));
      } else {
        x = x.add(a.matmul(l.wo));
        const h2 = T.rmsNorm(x, l.n2, 1e-5);
        x = x.add(h2.matmul(l.w1).silu().mul(h2.matmul(l.w3)).matmul(l.w2));
      }
    }
    return T.rmsNorm(x, nf, 1e-5).matmul(head);
  };
  const step = async () => {
    const loss = T.tidy(() => T.crossEntropy(logits(ids, B, Tn, pos), targets));
    loss.backward();
    stepNo++;
    params.forEach((p, i) => {
      T.adamwStep(p, moments[i]![0], moments[i]![1], {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: 0.1,
        step: stepNo,
      });
    });
    T.zeroGrad(params);
    const value = await loss.item();
    loss.dispose();
    return value;
  };
  const first = await step(); // warm-up: compiles every pipeline
  const times: number[] = [];
  let last = first;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    last = await step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[2]!;
  const perStep = await countDispatches(step);
  // One new token through the same layers (no KV cache in this bench model): the per-token forward dispatches.
  const one = T.randint(0, V, [1, 1], { dtype: 'int32' });
  const pos1 = T.arange(0, 1, 1, { dtype: 'int32' });
  const forwardOne = async () => {
    const out = T.noGrad(() => T.tidy(() => logits(one, 1, 1, pos1)));
    await out.data();
    out.dispose();
  };
  await forwardOne(); // compiles, and tunes the new one-row shape classes (their dispatches are not the model's)
  const perToken = await countDispatches(forwardOne);
  const nParams = params.reduce((s, p) => s + p.size, 0);
  console.log(`\n### training step (Andes only)\n`);
  console.log('| model | params | tokens/step | ms/step (median of 5) | tokens/s | loss step 1 → 6 |');
  console.log('|---|---:|---:|---:|---:|---|');
  console.log(
    `| V${V} d${d} H${H} L${L}, B${B}×T${Tn} | ${(nParams / 1e6).toFixed(2)} M | ${B * Tn} | ${ms.toFixed(0)} | ${((B * Tn * 1000) / ms).toFixed(0)} | ${first.toFixed(3)} → ${last.toFixed(3)} |`,
  );
  console.log(
    `\ndispatches per training step: ${perStep}; per one-token forward (decode step): ${perToken}` +
      ` (${fused ? 'fused addRmsNorm + swiglu' : 'composed, BENCH_FUSED=0'})`,
  );
}
