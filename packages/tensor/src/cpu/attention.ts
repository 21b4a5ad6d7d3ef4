import type { Storage, View } from '../backend/backend.js';
import { allocCpu, readView } from './storage.js';

/** Query t of T sees keys s ≤ t + (S − T) when causal; returns that bound (exclusive), clamped to [0, S]. */
function keyLimit(t: number, T: number, S: number, causal: boolean): number {
  return causal ? Math.max(0, Math.min(S, t + (S - T) + 1)) : S;
}

/**
 * Attention by the per-row online-softmax algorithm: one pass over keys keeping the running max m, the running
 * normaliser l and the unnormalised output, so no [T, S] score matrix is stored. Rows that see no key get o = 0 and
 * lse = −inf.
 */
export function attention(q: View, k: View, v: View, scale: number, causal: boolean): { o: Storage; lse: Storage } {
  const [B, Hq, T, D] = q.shape as [number, number, number, number];
  const [, Hkv, S] = k.shape as [number, number, number, number];
  const group = Hq / Hkv;
  const Q = readView(q);
  const K = readView(k);
  const V = readView(v);
  const o = allocCpu('float32', B * Hq * T * D);
  const lse = allocCpu('float32', B * Hq * T);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kvBase = (b * Hkv + Math.floor(h / group)) * S * D;
      for (let t = 0; t < T; t++) {
        const qBase = ((b * Hq + h) * T + t) * D;
        const limit = keyLimit(t, T, S, causal);
        let m = Number.NEGATIVE_INFINITY;
        let l = 0;
        acc.fill(0);
        for (let s = 0; s < limit; s++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += Q[qBase + d]! * K[kvBase + s * D + d]!;
          const score = dot * scale;
          const mNew = Math.max(m, score);
          const correction = Math.exp(m - mNew);
          const p = Math.exp(score - mNew);
          l = l * correction + p;
          for (let d = 0; d < D; d++) acc[d] = acc[d]! * correction + p * V[kvBase + s * D + d]!;
          m = mNew;
        }
        const row = (b * Hq + h) * T + t;
        lse.data[row] = limit === 0 ? Number.NEGATIVE_INFINITY : m + Math.log(l);
        for (let d = 0; d < D; d++) o.data[row * D + d] = limit === 0 ? 0 : acc[d]! / l;
      }
    }
  }
  return { o, lse };
}

/**
 * Backward from the saved lse: p_s = exp(scale·q·k_s − lse), Δ = dO·o, ds = p_s·(dO·v_s − Δ);
 * dq += scale·ds·k_s, dk_s += scale·ds·q, dv_s += p_s·dO (grouped heads accumulate into their shared k/v head).
 */
export function attentionBackward(
  q: View,
  k: View,
  v: View,
  o: View,
  dO: View,
  lse: View,
  scale: number,
  causal: boolean,
): { dq: Storage; dk: Storage; dv: Storage } {
  const [B, Hq, T, D] = q.shape as [number, number, number, number];
  const [, Hkv, S] = k.shape as [number, number, number, number];
  const group = Hq / Hkv;
  const Q = readView(q);
  const K = readView(k);
  const V = readView(v);
  const O = readView(o);
  const G = readView(dO);
  const L = readView(lse);
  const dq = new Float64Array(Q.length);
  const dk = new Float64Array(K.length);
  const dv = new Float64Array(V.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kvBase = (b * Hkv + Math.floor(h / group)) * S * D;
      for (let t = 0; t < T; t++) {
        const row = (b * Hq + h) * T + t;
        const qBase = row * D;
        const limit = keyLimit(t, T, S, causal);
        let delta = 0;
        for (let d = 0; d < D; d++) delta += G[qBase + d]! * O[qBase + d]!;
        const lseRow = L[row]!;
        for (let s = 0; s < limit; s++) {
          const kRow = kvBase + s * D;
          let dot = 0;
          let dp = 0;
          for (let d = 0; d < D; d++) {
            dot += Q[qBase + d]! * K[kRow + d]!;
            dp += G[qBase + d]! * V[kRow + d]!;
          }
          const p = Math.exp(dot * scale - lseRow);
          const ds = p * (dp - delta) * scale;
          for (let d = 0; d < D; d++) {
            dq[qBase + d]! += ds * K[kRow + d]!;
            dk[kRow + d]! += ds * Q[qBase + d]!;
            dv[kRow + d]! += p * G[qBase + d]!;
          }
        }
      }
    }
  }
  const wrap = (a: Float64Array): Storage => {
    const s = allocCpu('float32', a.length);
    s.data.set(a);
    return s;
  };
  return { dq: wrap(dq), dk: wrap(dk), dv: wrap(dv) };
}
