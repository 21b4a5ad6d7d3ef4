/**
 * Measures forward + backward + AdamW steps of a preset on the default backend (ANDES_BACKEND=cpu|webgpu), then cached
 * greedy decoding. Build and run:
 *   npx tsc -b packages/nn && npx tsc -p packages/nn/bench/tsconfig.json && node packages/nn/bench/dist/train-step.js
 * Env: PRESET (tiny), VOCAB (1024), BATCH (16), SEQ (128), STEPS (5).
 */

import { generateIds, LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { adamwStep, initBackend, keep, randint, sync, type Tensor, tidy, zerosLike } from '@andes/tensor';

const preset = process.env.PRESET ?? 'tiny';
const vocab = Number(process.env.VOCAB ?? 1024);
const batch = Number(process.env.BATCH ?? 16);
const seq = Number(process.env.SEQ ?? 128);
const steps = Number(process.env.STEPS ?? 5);

await initBackend();
const config = llamaPreset(preset, { vocab_size: vocab });
const model = new LlamaForCausalLM(config, { seed: 1 });
console.log(`${preset}: ${(model.numParameters() / 1e6).toFixed(2)}M params, batch ${batch}×${seq}`);
const params = model.parameters();
const m = params.map((p) => keep(zerosLike(p)));
const v = params.map((p) => keep(zerosLike(p)));
const ids = keep(randint(0, vocab, [batch, seq], { dtype: 'int32', seed: 1 }));
const targets = keep(randint(0, vocab, [batch, seq], { dtype: 'int32', seed: 2 }));
let total = 0;
for (let step = 1; step <= steps + 1; step++) {
  const t0 = performance.now();
  const loss = tidy(() => {
    const l = model.loss(ids, targets);
    l.backward();
    params.forEach((p, i) => {
      adamwStep(p, m[i] as Tensor, v[i] as Tensor, {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: 0.1,
        step,
      });
      p.zeroGrad();
    });
    return keep(l.detach());
  });
  const value = await loss.item();
  loss.dispose();
  await sync();
  const ms = performance.now() - t0;
  if (step > 1) total += ms; // the first step compiles pipelines
  console.log(`step ${step}: loss ${value.toFixed(4)} ${ms.toFixed(0)} ms`);
}
const perStep = total / steps;
console.log(`train: ${perStep.toFixed(0)} ms/step, ${((batch * seq) / (perStep / 1000)).toFixed(0)} tokens/s`);
const t0 = performance.now();
const out = await generateIds(model, [1, 2, 3], { maxNewTokens: 32, temperature: 0, stop: [] });
console.log(`decode: ${((performance.now() - t0) / out.length).toFixed(1)} ms/token (32 tokens, incl. prefill)`);
