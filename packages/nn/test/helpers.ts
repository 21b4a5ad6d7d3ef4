/** Test helpers shared by the nn tests. */

import { noGrad, SeededRandom, type Tensor, tensor } from '@andes/tensor';
import { type LlamaConfig, llamaConfig } from '../src/config.js';
import type { LlamaForCausalLM } from '../src/llama.js';
import type { HostWeights } from './reference-llama.js';

/**
 * The small LLaMA config of the model tests: odd sizes (vocabulary 37, hidden 24, FFN 40, 6 heads over 2 kv heads of
 * 4), 2 layers, rope θ 500; `over` replaces any field.
 */
export function smallConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return llamaConfig({
    vocab_size: 37,
    hidden_size: 24,
    intermediate_size: 40,
    num_hidden_layers: 2,
    num_attention_heads: 6,
    num_key_value_heads: 2,
    max_position_embeddings: 32,
    rope_theta: 500,
    ...over,
  });
}

/** Float32 logits `[B, T, V]` (flat) of `model` on ids `[B][T]`, without recording gradients. */
export async function logitsOf(model: LlamaForCausalLM, ids: number[][]): Promise<Float32Array> {
  return noGrad(async () => {
    const input = idsTensor(ids);
    const out = model.forward(input);
    const values = Float32Array.from((await out.data()) as Float32Array);
    out.dispose();
    input.dispose();
    return values;
  });
}

/** Every parameter of `model` read back to the host, by name. */
export async function hostWeights(model: LlamaForCausalLM): Promise<HostWeights> {
  const out: HostWeights = new Map();
  for (const [name, p] of model.namedParameters()) out.set(name, (await p.data()) as Float32Array);
  return out;
}

/** Deterministic pseudo-random token ids `[batch][seq]` in [0, vocab). */
export function randomIds(batch: number, seq: number, vocab: number, seed: number): number[][] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: batch }, () => Array.from({ length: seq }, () => rng.int(vocab)));
}

/** int32 tensor `[B, T]` from nested ids. */
export function idsTensor(ids: number[][]): Tensor {
  return tensor(Int32Array.from(ids.flat()), [ids.length, ids[0]?.length ?? 0], { dtype: 'int32' });
}

/** Largest |a - b| over two flat arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Largest |got − want| relative to the largest magnitude of the reference `want`. */
export function relativeDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i] as number));
  return maxAbsDiff(got, want) / scale;
}

/** A tensor's values as float32 (it is freed after the read). */
export async function readAndFree(t: { data(): Promise<ArrayLike<number>>; dispose(): void }): Promise<Float32Array> {
  const d = Float32Array.from(await t.data());
  t.dispose();
  return d;
}
