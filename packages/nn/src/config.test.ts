import { describe, expect, it } from 'vitest';
import { llamaConfig, swigluHiddenSize, validateLlamaConfig } from './config.js';
import { countParameters } from './count-parameters.js';
import { LLAMA_PRESETS, llamaPreset } from './presets.js';

describe('swigluHiddenSize', () => {
  it("matches the intermediate sizes of Hugging Face's LLaMA configs", () => {
    // Published config.json values of huggyllama/llama-{7b,13b,30b,65b}.
    expect(swigluHiddenSize(4096)).toBe(11008);
    expect(swigluHiddenSize(5120)).toBe(13824);
    expect(swigluHiddenSize(6656)).toBe(17920);
    expect(swigluHiddenSize(8192)).toBe(22016);
    // llama2.c rounds to multiples of 32: stories15M/42M/110M have hidden_dim 768/1376/2048.
    expect(swigluHiddenSize(288, 32)).toBe(768);
    expect(swigluHiddenSize(512, 32)).toBe(1376);
    expect(swigluHiddenSize(768, 32)).toBe(2048);
  });
});

describe('llamaPreset + countParameters', () => {
  // The LLaMA paper (table 2) reports 6.7B, 13.0B, 32.5B, 65.2B.
  const paper: Array<[string, number]> = [
    ['llama-7b', 6.7e9],
    ['llama-13b', 13.0e9],
    ['llama-33b', 32.5e9],
    ['llama-65b', 65.2e9],
  ];
  for (const [name, published] of paper) {
    it(`${name} has ${published / 1e9}B parameters within 1%`, () => {
      const { total } = countParameters(llamaPreset(name));
      expect(Math.abs(total - published) / published).toBeLessThan(0.01);
    });
  }

  it('llama-7b matches the exact count of the released checkpoint', () => {
    // 6,738,415,616 is the element count of the released 7B checkpoint (as reported by HF for huggyllama/llama-7b).
    expect(countParameters(llamaPreset('llama-7b')).total).toBe(6_738_415_616);
  });

  it("stories presets match llama2.c's model sizes", () => {
    const s15 = llamaPreset('stories-15m');
    expect([s15.hidden_size, s15.num_hidden_layers, s15.num_attention_heads, s15.max_position_embeddings]).toEqual([
      288, 6, 6, 256,
    ]);
    expect(s15.tie_word_embeddings).toBe(true);
    // Hand count: 32000·288 + 6·(4·288² + 3·288·768 + 2·288) + 288.
    expect(countParameters(s15).total).toBe(32000 * 288 + 6 * (4 * 288 * 288 + 3 * 288 * 768 + 576) + 288);
    expect(countParameters(llamaPreset('stories-42m')).total / 1e6).toBeCloseTo(41.7, 0);
    expect(countParameters(llamaPreset('stories-110m')).total / 1e6).toBeCloseTo(109.5, 0);
  });

  it('tiny is ~1-3M parameters for tokenizer-sized vocabularies and uses grouped-query heads', () => {
    for (const vocab of [256, 512, 4096, 8000]) {
      const config = llamaPreset('tiny', { vocab_size: vocab });
      const { total } = countParameters(config);
      expect(total).toBeGreaterThan(0.9e6);
      expect(total).toBeLessThan(3e6);
      expect(config.num_key_value_heads).toBe(2);
    }
  });

  it('counts grouped-query k/v projections at the reduced width', () => {
    const config = llamaConfig({
      vocab_size: 10,
      hidden_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 8,
      num_key_value_heads: 2,
    });
    // head size 8, kv width 16: q,o 64·64; k,v 64·16.
    expect(countParameters(config).attentionPerLayer).toBe(2 * 64 * 64 + 2 * 64 * 16);
  });

  it('lists every preset and rejects unknown names and a missing vocabulary', () => {
    expect(LLAMA_PRESETS.map((p) => p.name)).toContain('tiny');
    expect(() => llamaPreset('llama-8b')).toThrow(/unknown preset 'llama-8b'.*llama-7b/);
    expect(() => llamaPreset('tiny')).toThrow(/tiny.*vocab_size/);
  });
});

describe('validateLlamaConfig', () => {
  const ok = () => llamaConfig({ vocab_size: 100, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4 });

  it('fills Hugging Face defaults', () => {
    const c = ok();
    expect(c.num_key_value_heads).toBe(4);
    expect(c.intermediate_size).toBe(256);
    expect(c.rope_theta).toBe(10000);
    expect(c.rope_style).toBe('half');
    expect(c.model_type).toBe('llama');
  });

  it('accepts a Hugging Face config.json, dropping unknown fields, and refuses unsupported math', () => {
    const hf = {
      architectures: ['LlamaForCausalLM'],
      hidden_size: 64,
      num_attention_heads: 4,
      num_hidden_layers: 2,
      vocab_size: 100,
      torch_dtype: 'float16',
      rope_scaling: null,
      attention_bias: false,
      head_dim: 16,
    };
    const c = llamaConfig(hf);
    expect(c).not.toHaveProperty('architectures');
    expect(c.hidden_size).toBe(64);
    expect(() => llamaConfig({ ...hf, rope_scaling: { type: 'linear', factor: 2 } } as never)).toThrow(
      /rope_scaling=\{"type":"linear","factor":2\} is not supported/,
    );
    expect(() => llamaConfig({ ...hf, attention_bias: true } as never)).toThrow(/attention_bias=true/);
    expect(() => llamaConfig({ ...hf, head_dim: 32 } as never)).toThrow(/head_dim=32 differs/);
  });

  it('names the field and values in its errors', () => {
    expect(() => validateLlamaConfig({ ...ok(), num_key_value_heads: 3 })).toThrow(
      /num_key_value_heads \(3\) must divide num_attention_heads \(4\)/,
    );
    expect(() => validateLlamaConfig({ ...ok(), hidden_size: 66 })).toThrow(
      /hidden_size \(66\).*num_attention_heads \(4\)/,
    );
    expect(() =>
      validateLlamaConfig({ ...ok(), hidden_size: 12, num_attention_heads: 4, num_key_value_heads: 4 }),
    ).toThrow(/head size.*3.*even/);
    expect(() => validateLlamaConfig({ ...ok(), vocab_size: 0 })).toThrow(
      /vocab_size must be a positive integer, got 0/,
    );
    expect(() => validateLlamaConfig({ ...ok(), num_hidden_layers: 1.5 })).toThrow(/num_hidden_layers/);
    expect(() => validateLlamaConfig({ ...ok(), rms_norm_eps: 0 })).toThrow(/rms_norm_eps/);
    expect(() => validateLlamaConfig({ ...ok(), eos_token_id: 100 })).toThrow(/eos_token_id \(100\)/);
    expect(() => validateLlamaConfig({ ...ok(), rope_style: 'weird' as never })).toThrow(/rope_style/);
  });
});
