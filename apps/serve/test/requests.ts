/**
 * Test support shared by the scheduler tests (not exported from the package).
 *
 * @module
 */
import { DEFAULT_SAMPLING, generateIds, type LlamaForCausalLM, llamaConfig, type SamplingParams } from '@andes/nn';
import type { FinishReason, SequenceRequest } from '../src/scheduler.js';
import type { EngineSource } from '../src/worker-engine.js';

/** A greedy request for `maxTokens` tokens of `prompt` (EOS never matches), the ids it receives and how it ended. */
export function greedy(prompt: number[], maxTokens: number) {
  return sampled(prompt, maxTokens, { ...DEFAULT_SAMPLING, temperature: 0 });
}

/** As {@link greedy}, with these sampling settings. */
export function sampled(prompt: number[], maxTokens: number, sampling: SamplingParams) {
  const ids: number[] = [];
  let done!: (r: FinishReason) => void;
  const reason = new Promise<FinishReason>((r) => (done = r));
  const req: SequenceRequest = {
    prompt,
    maxTokens,
    sampling,
    eosIds: [-1],
    topLogprobs: -1,
    onToken: (ev) => {
      ids.push(ev.id);
      return undefined;
    },
    onFinish: (r) => done(r),
  };
  return { req, ids, reason };
}

/** The greedy ids `model` alone generates after `prompt` (`n` of them, no stop): what a scheduled request must get. */
export function soloGreedy(model: LlamaForCausalLM, prompt: readonly number[], n: number): Promise<number[]> {
  return generateIds(model, [...prompt], { maxNewTokens: n, temperature: 0, stop: [] });
}

/** The small model config of the scheduler policy and cut-in tests (2 layers, 53 tokens, 64 positions). */
export const schedulerTestConfig = llamaConfig({
  vocab_size: 53,
  hidden_size: 20,
  intermediate_size: 36,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 64,
});

/** The small model config of the engine-worker tests (2 layers, grouped KV heads, 61 tokens, 96 positions). */
export const workerTestConfig = llamaConfig({
  vocab_size: 61,
  hidden_size: 24,
  intermediate_size: 40,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  num_key_value_heads: 1,
  max_position_embeddings: 96,
});

/** `model`'s weights as an engine worker's source (copies of its tensors' data, as the worker receives them). */
export async function weightsSource(model: LlamaForCausalLM): Promise<EngineSource> {
  const tensors: [string, number[], Float32Array][] = [];
  for (const [name, t] of model.stateDict()) tensors.push([name, [...t.shape], (await t.data()) as Float32Array]);
  return { kind: 'weights', config: model.config, tensors };
}
