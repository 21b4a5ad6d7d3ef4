// What the decode benches share: an Andes model built from a GGUF file with its linear weights kept in the file's
// type, and the timed greedy decode after a prompt.
import { loadModel } from '@andes/checkpoint';
import { generate, LlamaForCausalLM, useBlockWeights } from '@andes/nn';

/** The model of the GGUF file at `path`, its block weights kept (decoded inside the matmul kernels). */
export async function keptModel(path) {
  const loaded = await loadModel(path, { dtype: 'keep' });
  const model = new LlamaForCausalLM(loaded.config);
  useBlockWeights(model, loaded.blockWeights);
  model.loadStateDict(loaded.tensors);
  return model;
}

/** CPU seconds this process has used since `since` (a `process.cpuUsage()` reading). */
export function cpuSeconds(since) {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

/**
 * `tokens` greedy decode steps of `model` after `prompt`, never stopping early: tokens per wall and per CPU second
 * (of this process, lavapipe's threads included: steadier than wall time under load) from the first token on (it
 * ends the prefill), and the ids.
 */
export async function andesDecode(model, prompt, tokens) {
  let t1 = 0;
  let c1 = null;
  const ids = [];
  const stop = () => false;
  for await (const id of generate(model, prompt, { maxNewTokens: tokens + 1, temperature: 0, stop })) {
    if (ids.length === 0) {
      t1 = performance.now();
      c1 = process.cpuUsage();
    }
    ids.push(id);
  }
  return { wall: (tokens / (performance.now() - t1)) * 1000, perCpu: tokens / cpuSeconds(c1), ids };
}
