import { describe, expect, it } from 'vitest';
import { type GridModel, isoflopGrid, shapeForWidth } from './isoflop-grid.js';

const NANO = {
  hidden_size: 64,
  intermediate_size: 256,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
};

describe('width/depth rule', () => {
  it("derives tiny's shape from nano's and keeps head size and grouping", () => {
    expect(shapeForWidth(NANO, 128)).toEqual({
      hidden_size: 128,
      intermediate_size: 512,
      num_hidden_layers: 4,
      num_attention_heads: 8,
      num_key_value_heads: 4,
    });
    expect(shapeForWidth(NANO, 32)).toEqual({
      hidden_size: 32,
      intermediate_size: 128,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
    });
    expect(shapeForWidth(NANO, 96).num_hidden_layers).toBe(3);
    // LLaMA-7B's shape grown to 13B's width gets 13B's heads and depth (40, 40); the SwiGLU width keeps 7B's ratio
    // (13760; the paper's 13B rounds to multiples of 256 instead: 13824).
    const llama7b = {
      hidden_size: 4096,
      intermediate_size: 11008,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 32,
    };
    expect(shapeForWidth(llama7b, 5120)).toMatchObject({
      intermediate_size: 13760,
      num_attention_heads: 40,
      num_hidden_layers: 40,
    });
    expect(() => shapeForWidth(NANO, 40)).toThrow('width 40 must be a positive multiple of 32');
  });
});

describe('isoflopGrid', () => {
  // Parameter counts of a ladder roughly 2.5× apart.
  const models: GridModel[] = [1e5, 2.5e5, 6e5, 1.5e6, 4e6, 1e7].map((params, i) => ({
    shape: shapeForWidth(NANO, 32 * (i + 1)),
    params,
  }));

  it('centres each budget on the size nearest 20 tokens per parameter, D = C/6N in whole steps', () => {
    const budgets = [6 * 20 * 6e5 * 6e5, 6 * 20 * 4e6 * 4e6];
    const grid = isoflopGrid({ budgets, models, perBudget: 3, tokenQuantum: 512 });
    expect(grid.map((p) => p.model.params)).toEqual([2.5e5, 6e5, 1.5e6, 1.5e6, 4e6, 1e7]);
    expect(grid.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const p of grid) {
      expect(p.tokens % 512).toBe(0);
      expect(p.tokens - p.flops / (6 * p.model.params)).toBeGreaterThanOrEqual(0);
      expect(p.tokens - p.flops / (6 * p.model.params)).toBeLessThan(512);
    }
  });

  it('clamps the window at the ends of the ladder and rejects bad requests', () => {
    const grid = isoflopGrid({ budgets: [1e9], models, perBudget: 4 });
    expect(grid.map((p) => p.modelIndex)).toEqual([0, 1, 2, 3]);
    expect(() => isoflopGrid({ budgets: [1e9], models, perBudget: 7 })).toThrow(
      'perBudget must be an integer in [1, 6]',
    );
    expect(() => isoflopGrid({ budgets: [0], models, perBudget: 2 })).toThrow('budgets must be positive');
  });
});
