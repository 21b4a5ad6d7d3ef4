import { isHalf } from '../backend/backend.js';
import { fmt } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { contiguous } from './contiguous.js';
import { backendOfAnyDtype, requireDtype, requireFloat } from './inputs.js';
import { toType } from './to-type.js';

/** Options of {@link scaledDotProductAttention}. */
export interface AttentionOptions {
  /** Query t sees keys s ≤ t + (S − T). Default true. */
  causal?: boolean;
  /** Score scale. Default 1/√D. */
  scale?: number;
}

/**
 * softmax(q·kᵀ·scale [+ causal mask])·v, fused and tiled (no [T, S] score matrix is stored).
 * q [B, Hq, T, D], k and v [B, Hkv, S, D] with Hq a multiple of Hkv (grouped-query attention: query head h reads
 * k/v head ⌊h / (Hq/Hkv)⌋). Causal masking aligns the last query with the last key, so decoding with a KV cache
 * (T < S) works. k and v may be float16 / bfloat16 (a half KV cache): they are decoded to float32 on the way in.
 * Returns [B, Hq, T, D].
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const backend = backendOfAnyDtype('scaledDotProductAttention', q, k, v);
  requireDtype('scaledDotProductAttention', q, 'float32', 'q');
  requireFloat('scaledDotProductAttention', k, 'k');
  requireFloat('scaledDotProductAttention', v, 'v');
  const [B, Hq, T, D] = q.shape;
  const [Bk, Hkv, , Dk] = k.shape;
  const ok =
    q.shape.length === 4 &&
    k.shape.length === 4 &&
    v.shape.length === 4 &&
    B === Bk &&
    D === Dk &&
    Hkv! > 0 &&
    Hq! % Hkv! === 0 &&
    k.shape.every((d, i) => d === v.shape[i]);
  if (!ok) {
    throw new Error(
      `scaledDotProductAttention: need q [B, Hq, T, D], k = v [B, Hkv, S, D], Hq % Hkv = 0; got q ${fmt(q.shape)}, ` +
        `k ${fmt(k.shape)}, v ${fmt(v.shape)}`,
    );
  }
  const { causal = true, scale = 1 / Math.sqrt(D!) } = options;
  const qc = contiguous(q);
  // Half keys/values (a float16 KV cache) are decoded in the contiguous copy the kernel needs anyway.
  const kc = isHalf(k.dtype) ? toType(k, 'float32') : contiguous(k);
  const vc = isHalf(v.dtype) ? toType(v, 'float32') : contiguous(v);
  const { o, lse } = backend.attention(qc, kc, vc, scale, causal);
  const y = Tensor.fromStorage(o, backend, [B!, Hq!, T!, D!]);
  const lseT = Tensor.fromStorage(lse, backend, [B!, Hq!, T!]);
  const out = record(
    'scaledDotProductAttention',
    [q, k, v],
    y,
    (g, [qs, ks, vs, os, ls]) => {
      const gc = contiguous(g);
      const { dq, dk, dv } = backend.attentionBackward(qs!, ks!, vs!, os!, gc, ls!, scale, causal);
      return [
        Tensor.fromStorage(dq, backend, qs!.shape),
        Tensor.fromStorage(dk, backend, ks!.shape),
        Tensor.fromStorage(dv, backend, vs!.shape),
      ];
    },
    [qc, kc, vc, y, lseT],
  );
  qc.dispose();
  kc.dispose();
  vc.dispose();
  lseT.dispose();
  return out;
}
