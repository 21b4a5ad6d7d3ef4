/**
 * An independent float64 LLaMA forward pass on plain arrays, written from the paper and Hugging Face's modeling code
 * (not from this package), used as the reference the tensor implementation is tested against.
 */

import type { LlamaConfig } from '../src/config.js';

/** Weights by Hugging Face name, row-major. */
export type HostWeights = Map<string, Float64Array | Float32Array>;

function linear(x: Float64Array, w: ArrayLike<number>, inDim: number, outDim: number): Float64Array {
  // y[o] = Σ_i x[i] · W[o, i]  (W is [out, in])
  const y = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let s = 0;
    for (let i = 0; i < inDim; i++) s += (x[i] as number) * (w[o * inDim + i] as number);
    y[o] = s;
  }
  return y;
}

function rmsNorm(x: Float64Array, w: ArrayLike<number>, eps: number): Float64Array {
  let ms = 0;
  for (const v of x) ms += v * v;
  const r = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * r * (w[i] as number));
}

function rotate(vec: Float64Array, heads: number, dh: number, pos: number, theta: number, style: string): void {
  const half = dh / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * theta ** ((-2 * i) / dh);
      const [a, b] = style === 'half' ? [h * dh + i, h * dh + i + half] : [h * dh + 2 * i, h * dh + 2 * i + 1];
      const x0 = vec[a] as number;
      const x1 = vec[b] as number;
      vec[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
      vec[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
    }
  }
}

const silu = (v: number) => v / (1 + Math.exp(-v));

/**
 * Logits `[B][T][V]` of a LLaMA with the given weights for `ids [B][T]` (positions 0..T-1). `kvValue`, when given,
 * maps every key (after rotation) and value element to what a cache holds of it (a half KV cache's rounding).
 */
export function referenceLogits(
  config: LlamaConfig,
  weights: HostWeights,
  ids: number[][],
  kvValue?: (x: number) => number,
): Float64Array[][] {
  const get = (name: string) => {
    const w = weights.get(name);
    if (w === undefined) throw new Error(`reference: missing ${name}`);
    return w;
  };
  const d = config.hidden_size;
  const hq = config.num_attention_heads;
  const hkv = config.num_key_value_heads;
  const dh = d / hq;
  const group = hq / hkv;
  const ff = config.intermediate_size;
  const V = config.vocab_size;
  const eps = config.rms_norm_eps;
  const embed = get('model.embed_tokens.weight');
  const head = config.tie_word_embeddings ? embed : get('lm_head.weight');
  return ids.map((seq) => {
    let xs = seq.map((id) => Float64Array.from(embed.subarray(id * d, (id + 1) * d)));
    for (let l = 0; l < config.num_hidden_layers; l++) {
      const p = `model.layers.${l}.`;
      const normed = xs.map((x) => rmsNorm(x, get(`${p}input_layernorm.weight`), eps));
      const q = normed.map((x) => linear(x, get(`${p}self_attn.q_proj.weight`), d, hq * dh));
      const k = normed.map((x) => linear(x, get(`${p}self_attn.k_proj.weight`), d, hkv * dh));
      const v = normed.map((x) => linear(x, get(`${p}self_attn.v_proj.weight`), d, hkv * dh));
      q.forEach((vec, t) => {
        rotate(vec, hq, dh, t, config.rope_theta, config.rope_style);
      });
      k.forEach((vec, t) => {
        rotate(vec, hkv, dh, t, config.rope_theta, config.rope_style);
      });
      if (kvValue) for (const vec of [...k, ...v]) for (let i = 0; i < vec.length; i++) vec[i] = kvValue(vec[i]!);
      const attnOut = q.map((qt, t) => {
        const out = new Float64Array(hq * dh);
        for (let h = 0; h < hq; h++) {
          const kvh = Math.floor(h / group);
          const scores: number[] = [];
          for (let s = 0; s <= t; s++) {
            let dot = 0;
            for (let i = 0; i < dh; i++)
              dot += (qt[h * dh + i] as number) * ((k[s] as Float64Array)[kvh * dh + i] as number);
            scores.push(dot / Math.sqrt(dh));
          }
          const m = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - m));
          const z = e.reduce((a, b) => a + b, 0);
          for (let s = 0; s <= t; s++) {
            for (let i = 0; i < dh; i++)
              out[h * dh + i] += ((e[s] as number) / z) * ((v[s] as Float64Array)[kvh * dh + i] as number);
          }
        }
        return linear(out, get(`${p}self_attn.o_proj.weight`), hq * dh, d);
      });
      const h1 = xs.map((x, t) => x.map((val, i) => val + ((attnOut[t] as Float64Array)[i] as number)));
      xs = h1.map((x) => {
        const n = rmsNorm(x, get(`${p}post_attention_layernorm.weight`), eps);
        const g = linear(n, get(`${p}mlp.gate_proj.weight`), d, ff);
        const u = linear(n, get(`${p}mlp.up_proj.weight`), d, ff);
        const hidden = g.map((gv, i) => silu(gv) * (u[i] as number));
        const down = linear(hidden, get(`${p}mlp.down_proj.weight`), ff, d);
        return x.map((val, i) => val + (down[i] as number));
      });
    }
    return xs.map((x) => linear(rmsNorm(x, get('model.norm.weight'), eps), head, d, V));
  });
}
