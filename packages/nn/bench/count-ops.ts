/**
 * Counts backend kernel calls of one training step (forward + backward + AdamW) and of one batched decode step of a
 * preset, by kernel name: the dispatch budget that matters on WebGPU. Run like train-step.ts (PRESET, VOCAB, BATCH,
 * SEQ); BACKEND=webgpu (default cpu) also prints the dispatches the WebGPU runtime recorded (a kernel call may record
 * more than one, e.g. a split-K matmul), GROUPED=0 the counts without the grouped linear kernels. Build and run:
 *   npx tsc -p packages/nn/bench/tsconfig.json && node packages/nn/bench/dist/count-ops.js
 */

import { KvCache, LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { adamwStep, getBackend, keep, randint, setBackend, type Tensor, tidy, zerosLike } from '@andes/tensor';

await setBackend(process.env.BACKEND === 'webgpu' ? 'webgpu' : 'cpu');
// GROUPED=0 hides the grouped linear kernels, so the layers take the separate path (the count before issue 11's
// linearMany / linearResidual).
if (process.env.GROUPED === '0') {
  for (const name of ['linearParts', 'linearPartsInputGrad', 'linearPartsWeightGrad']) {
    (getBackend() as unknown as Record<string, unknown>)[name] = undefined;
  }
}
/** The WebGPU runtime's dispatch counter, when the backend has one. */
const runtime = (getBackend() as unknown as { rt?: { dispatchCount: number } }).rt;
let dispatchesBefore = runtime?.dispatchCount ?? 0;
const preset = process.env.PRESET ?? 'tiny';
const vocab = Number(process.env.VOCAB ?? 1024);
const batch = Number(process.env.BATCH ?? 2);
const seq = Number(process.env.SEQ ?? 32);
const model = new LlamaForCausalLM(llamaPreset(preset, { vocab_size: vocab }), { seed: 1 });
const params = model.parameters();
const m = params.map((p) => keep(zerosLike(p)));
const v = params.map((p) => keep(zerosLike(p)));
const ids = keep(randint(0, vocab, [batch, seq], { dtype: 'int32', seed: 1 }));

const counts = new Map<string, number>();
const backend = getBackend() as unknown as Record<string, unknown>;
// Class instances (WebGPU) keep their kernels on the prototype, not enumerable; the CPU backend is a plain object.
const proto = Object.getPrototypeOf(backend);
const methods = proto === Object.prototype ? [] : Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor');
for (const name of methods.concat(Object.keys(backend))) {
  const fn = backend[name];
  if (typeof fn !== 'function' || ['read', 'sync', 'flush', 'memory', 'free', 'alloc'].includes(name)) continue;
  backend[name] = (...args: unknown[]) => {
    counts.set(name, (counts.get(name) ?? 0) + 1);
    return (fn as (...a: unknown[]) => unknown).apply(backend, args);
  };
}
const report = (label: string) => {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
  const dispatches = runtime ? `, ${runtime.dispatchCount - dispatchesBefore} WebGPU dispatches` : '';
  console.log(`${label}: ${total} kernel calls${dispatches} — ${parts.join(', ')}`);
  counts.clear();
  dispatchesBefore = runtime?.dispatchCount ?? 0;
};
dispatchesBefore = runtime?.dispatchCount ?? 0; // not the model's initialisation
tidy(() => {
  const loss = model.loss(ids, ids);
  report('forward');
  loss.backward();
  report('backward');
  params.forEach((p, i) => {
    adamwStep(p, m[i] as Tensor, v[i] as Tensor, {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: 0.1,
      step: 1,
    });
  });
  report('adamw');
});

// One batched decode step of two sequences after their prefills (what a serving step runs per token).
const cache = new KvCache(model.config, { maxBatch: 2, maxSeq: seq + 1 });
for (const slot of [0, 1]) {
  const prompt = Array.from({ length: seq }, (_, i) => (i * 7 + slot) % vocab);
  model.prefill(prompt, { cache, slot }).dispose();
}
counts.clear();
dispatchesBefore = runtime?.dispatchCount ?? 0;
model.forwardBatch([1, 2], { cache, slots: [0, 1] }).dispose();
report('decode step (2 sequences)');
