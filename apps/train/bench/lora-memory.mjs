// Memory of fine-tuning stories-110m, full vs LoRA: parameter + gradient + optimizer bytes as `memory()` counts
// them, after one training step's backward (activations freed, gradients and AdamW moments live). One step each:
// the bytes do not change with more steps. Usage: node apps/train/bench/lora-memory.mjs [preset] [backend]
import { applyLora, LlamaForCausalLM, LORA_LLAMA_TARGETS, llamaPreset, trainableParameters } from '@andes/nn';
import { AdamW } from '@andes/optim';
import { keep, memory, setBackend, tensor, tidy } from '@andes/tensor';

const preset = process.argv[2] ?? 'stories-110m';
const backend = process.argv[3] ?? 'cpu';
await setBackend(backend);
const config = llamaPreset(preset);
const seq = 16;
const ids = Int32Array.from({ length: seq }, (_, i) => (i * 7919 + 13) % config.vocab_size);
const targets = Int32Array.from({ length: seq }, (_, i) => (i * 104729 + 7) % config.vocab_size);
const MB = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function measure(mode) {
  const start = memory().bytes;
  const model = new LlamaForCausalLM(config, { seed: 0 });
  if (mode === 'lora') applyLora(model, { r: 8, alpha: 16, targets: LORA_LLAMA_TARGETS, dropout: 0.05, seed: 0 });
  const trainable = trainableParameters(model);
  const optimizer = new AdamW(trainable, { lr: 1e-4 });
  const started = performance.now();
  const loss = tidy(() => {
    const l = model.loss(tensor(ids, [1, seq], { dtype: 'int32' }), tensor(targets, [1, seq], { dtype: 'int32' }));
    l.backward();
    return keep(l.detach());
  });
  await loss.item();
  loss.dispose();
  // Parameters + gradients + AdamW moments: everything the step holds once activations are gone.
  const held = memory().bytes - start;
  optimizer.step();
  optimizer.zeroGrad();
  const seconds = (performance.now() - started) / 1000;
  const paramBytes = model.numParameters() * 4;
  const trainableBytes = trainable.reduce((n, [, p]) => n + p.size, 0) * 4;
  model.dispose();
  optimizer.dispose();
  return { mode, held, paramBytes, trainableBytes, seconds };
}

const full = await measure('full');
const lora = await measure('lora');
console.log(`${preset} on ${backend}, one step of batch 1 × ${seq} tokens`);
console.log('| fine-tuning | memory() bytes held (params + grads + AdamW) | trainable | step |');
console.log('|---|---|---|---|');
for (const r of [full, lora]) {
  console.log(
    `| ${r.mode === 'full' ? 'full' : 'LoRA r=8, all 7 projections'} | ${MB(r.held)} | ${MB(r.trainableBytes)} of ${MB(r.paramBytes)} | ${r.seconds.toFixed(1)} s |`,
  );
}
console.log(`LoRA / full: ${(lora.held / full.held).toFixed(3)} (goal ≤ 0.333)`);
if (lora.held > full.held / 3) process.exitCode = 1;
