import type { Storage, View } from '../backend/backend.js';
import { allocCpu, readView } from './storage.js';

/** Per-row loss = lse(logits[n]) − logits[n, target[n]] (0 when ignored) and per-row lse. */
export function crossEntropy(logits: View, targets: View, ignoreIndex: number): { loss: Storage; lse: Storage } {
  const [N, V] = logits.shape as [number, number];
  const x = readView(logits);
  const t = readView(targets);
  const loss = allocCpu('float32', N);
  const lse = allocCpu('float32', N);
  for (let n = 0; n < N; n++) {
    const base = n * V;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < V; j++) max = Math.max(max, x[base + j]!);
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(x[base + j]! - max);
    const l = max + Math.log(sum);
    lse.data[n] = l;
    const target = t[n]!;
    loss.data[n] = target === ignoreIndex ? 0 : l - x[base + target]!;
  }
  return { loss, lse };
}

/** dlogits[n, j] = (exp(logits[n, j] − lse[n]) − [j = target[n]]) · gradLoss[n]; ignored rows are 0. */
export function crossEntropyBackward(
  logits: View,
  targets: View,
  lse: View,
  gradLoss: View,
  ignoreIndex: number,
): Storage {
  const [N, V] = logits.shape as [number, number];
  const x = readView(logits);
  const t = readView(targets);
  const l = readView(lse);
  const g = readView(gradLoss);
  const out = allocCpu('float32', N * V);
  for (let n = 0; n < N; n++) {
    const target = t[n]!;
    if (target === ignoreIndex) continue;
    const base = n * V;
    const gn = g[n]!;
    const ln = l[n]!;
    for (let j = 0; j < V; j++) out.data[base + j] = Math.exp(x[base + j]! - ln) * gn;
    out.data[base + target]! -= gn;
  }
  return out;
}
