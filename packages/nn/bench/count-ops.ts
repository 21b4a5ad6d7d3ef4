/**
 * Counts backend kernel calls of one training step (forward + backward + AdamW) and of one decode step of a preset,
 * by kernel name: the dispatch budget that matters on WebGPU. Run like train-step.ts (PRESET, VOCAB, BATCH, SEQ).
 */

import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { adamwStep, getBackend, keep, randint, setBackend, type Tensor, tidy, zerosLike } from '@andes/tensor';

await setBackend('cpu');
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
for (const name of Object.keys(Object.getPrototypeOf(backend)).concat(Object.keys(backend))) {
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
  console.log(`${label}: ${total} kernel calls — ${parts.join(', ')}`);
  counts.clear();
};
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
