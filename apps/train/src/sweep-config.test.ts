import { readFileSync } from 'node:fs';
import { countParameters, llamaPreset } from '@andes/nn';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SWEEP, parseSweepConfig, planSweep } from './sweep-config.js';
import { workerIndex } from './sweep-worker.js';

describe('sweep config', () => {
  it('plans the default sweep: ≥ 12 IsoFLOP runs, D = C/6N in whole steps, each an ordinary run config', () => {
    const points = planSweep(DEFAULT_SWEEP);
    expect(points.length).toBeGreaterThanOrEqual(12);
    for (const p of points) {
      const model = llamaPreset('nano', { ...p.config.model, vocab_size: p.config.vocabSize });
      expect(countParameters(model).total).toBe(p.model.params);
      expect(p.config.tokenBudget).toBe(p.tokens);
      expect(p.tokens % 256).toBe(0);
      expect(Math.abs(p.tokens - p.flops / (6 * p.model.params))).toBeLessThan(256);
      expect(p.config.outDir).toBe(`runs/scaling/runs/${p.id}`);
      expect(p.config.tokenizer).toBe('runs/scaling/tokenizer.model');
      // Head size and the query/KV ratio of nano survive the width change.
      expect(model.hidden_size / model.num_attention_heads).toBe(16);
      expect(model.num_attention_heads / model.num_key_value_heads).toBe(2);
    }
    expect(new Set(points.map((p) => p.id)).size).toBe(points.length);
  });

  it('examples/scaling-sweep.json is the default sweep, spelled out', () => {
    const path = new URL('../examples/scaling-sweep.json', import.meta.url);
    expect(parseSweepConfig(JSON.parse(readFileSync(path, 'utf8')))).toEqual(DEFAULT_SWEEP);
  });

  it('names the field of a bad sweep file', () => {
    expect(() => parseSweepConfig({ widths: [32, -64] }, 's.json')).toThrow(
      's.json field "widths"[1]: expected a positive integer, got -64',
    );
    expect(() => parseSweepConfig({ train: { outDir: 'x' } }, 's.json')).toThrow('"outDir" is set by the sweep');
    expect(() => parseSweepConfig({ train: { lr: -1 } }, 's.json')).toThrow('s.json field "train" field "lr"');
    expect(() => parseSweepConfig({ budget: [1] }, 's.json')).toThrow('unknown field "budget"');
    expect(() => planSweep(parseSweepConfig({ widths: [48, 64], perBudget: 2 }))).toThrow(
      'width 48 must be a positive multiple of 32',
    );
  });

  it('takes a worker’s point from --point or JOB_COMPLETION_INDEX', () => {
    expect(workerIndex('3', 12, {})).toBe(3);
    expect(workerIndex(undefined, 12, { JOB_COMPLETION_INDEX: '11' })).toBe(11);
    expect(() => workerIndex(undefined, 12, { JOB_COMPLETION_INDEX: '12' })).toThrow('in [0, 11], got "12"');
    expect(() => workerIndex(undefined, 12, {})).toThrow('give --point <index> or set JOB_COMPLETION_INDEX');
  });
});
