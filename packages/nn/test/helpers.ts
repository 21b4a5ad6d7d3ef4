/** Test helpers shared by the nn tests. */

import { SeededRandom, type Tensor, tensor } from '@andes/tensor';
import type { LlamaForCausalLM } from '../src/llama.js';
import type { HostWeights } from './reference-llama.js';

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
