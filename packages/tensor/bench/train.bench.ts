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
  // Projection weights [out, in] as in PyTorch (read by linear / linearMany through a transposed view).
  const w = (out: number, inFeatures: number) =>
    T.keep(T.tidy(() => T.randn([out, inFeatures]).mul(1 / Math.sqrt(inFeatures)))).requiresGrad_();
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
    w1: track(w(4 * d, d)),
    w3: track(w(4 * d, d)),
    w2: track(w(d, 4 * d)),
  }));
  const nf = track(T.ones([d], { requiresGrad: true }));
  const head = track(w(V, d));
  const moments = params.map((p) => [T.zerosLike(p), T.zerosLike(p)] as const);
  const ids = T.randint(0, V, [B, Tn], { dtype: 'int32' });
  const targets = T.randint(0, V, [B, Tn], { dtype: 'int32' });
  const pos = T.arange(0, Tn, 1, { dtype: 'int32' });
  let stepNo = 0;
  // BENCH_FUSED=0 composes the residual add + RMSNorm and silu·up from primitives (the dispatch count before fusion);
  // BENCH_FUSED=1 fuses those two but runs every projection as its own linear; the default also groups q/k/v and
  // gate/up (linearMany) and fuses down_proj with the residual add (linearResidual).
  const mode = process.env.BENCH_FUSED ?? '2';
  const projections = (h: T.Tensor, ws: T.Tensor[]) =>
    mode === '2' ? T.linearMany(h, ws) : ws.map((wi) => T.linear(h, wi));
  const logits = (tokens: T.Tensor, Bn: number, Tl: number, at: T.Tensor) => {
    let x = T.embedding(emb, tokens);
    for (const l of layers) {
      const h = T.rmsNorm(x, l.n1, 1e-5);
      const heads = (t: T.Tensor) => t.reshape([Bn, Tl, H, Dh]);
      const [qx, kx, vx] = projections(h, [l.wq, l.wk, l.wv]) as [T.Tensor, T.Tensor, T.Tensor];
      const q = T.rope(heads(qx), at).permute([0, 2, 1, 3]);
      const k = T.rope(heads(kx), at).permute([0, 2, 1, 3]);
      const v = heads(vx).permute([0, 2, 1, 3]);
      const a = T.scaledDotProductAttention(q, k, v, { causal: true }).permute([0, 2, 1, 3]).reshape([Bn, Tl, d]);
      if (mode === '0') {
        x = x.add(T.linear(a, l.wo));
        const h2 = T.rmsNorm(x, l.n2, 1e-5);
        x = x.add(T.linear(T.linear(h2, l.w1).silu().mul(T.linear(h2, l.w3)), l.w2));
      } else {
        const { sum, y } = T.addRmsNorm(x, T.linear(a, l.wo), l.n2, 1e-5);
        const [gate, up] = projections(y, [l.w1, l.w3]) as [T.Tensor, T.Tensor];
        const gated = T.swiglu(gate, up);
        x = mode === '2' ? T.linearResidual(gated, l.w2, sum) : sum.add(T.linear(gated, l.w2));
      }
    }
    return T.linear(T.rmsNorm(x, nf, 1e-5), head);
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
  // Process CPU time (lavapipe's threads included) is steadier than wall time on a shared, loaded machine.
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    last = await step();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / 5;
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
  // Compiles and tunes the new one-row shape classes (their dispatches are not the model's); the second call tunes
  // the families a tuned route calls in turn (the per-part matmuls of an apart `linear-parts` route).
  await forwardOne();
  await forwardOne();
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
      `; CPU ms/step ${cpuMs.toFixed(0)}, tokens per CPU-second ${((B * Tn * 1000) / cpuMs).toFixed(0)}` +
      ` (${['composed, BENCH_FUSED=0', 'addRmsNorm + swiglu, BENCH_FUSED=1', 'addRmsNorm + swiglu + linearMany + linearResidual'][Number(mode)]})`,
  );
}
