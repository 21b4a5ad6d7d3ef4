import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_CONFIG,
  flagName,
  parseConfigObject,
  parseField,
  parseModelOverrides,
  resolveConfig,
  totalSteps,
} from './config.js';

describe('config parsing', () => {
  it('maps fields to kebab-case flags', () => {
    expect(flagName('batchSize')).toBe('--batch-size');
    expect(flagName('lr')).toBe('--lr');
    expect(flagName('checkpointInterval')).toBe('--checkpoint-interval');
  });

  it('converts flag strings and names the flag and value when they are bad', () => {
    expect(parseField('lr', '3e-4', 'flag --lr')).toBe(3e-4);
    expect(() => parseField('lr', 'fast', 'flag --lr')).toThrow('flag --lr: expected a number, got "fast"');
    expect(() => parseField('lr', '-1', 'flag --lr')).toThrow('flag --lr: expected a number > 0, got "-1"');
    expect(() => parseField('batchSize', '2.5', 'flag --batch-size')).toThrow(/--batch-size: expected an integer/);
    expect(() => parseField('steps', '', 'flag --steps')).toThrow(/--steps/);
    expect(() => parseField('beta2', '1', 'flag --beta2')).toThrow(/\[0, 1\)/);
    expect(() => parseField('backend', 'metal', 'flag --backend')).toThrow(/"metal"/);
  });

  it('does not convert strings inside JSON configs', () => {
    expect(() => parseConfigObject({ lr: '0.1' }, 'config c.json')).toThrow(
      'config c.json field "lr": expected a number, got "0.1"',
    );
    expect(parseConfigObject({ lr: 0.1, prompts: ['a', 'b'] })).toEqual({ lr: 0.1, prompts: ['a', 'b'] });
  });

  it('rejects unknown fields and non-objects', () => {
    expect(() => parseConfigObject({ learningRate: 1 }, 'config x.json')).toThrow(/unknown field "learningRate"/);
    expect(() => parseConfigObject([1, 2], 'config x.json')).toThrow(ConfigError);
  });

  it('merges layers, with model overrides merged key by key', () => {
    const config = resolveConfig({ model: { hidden_size: 64 }, steps: 7 }, { model: { num_hidden_layers: 2 } });
    expect(config.model).toEqual({ hidden_size: 64, num_hidden_layers: 2 });
    expect(config.steps).toBe(7);
    expect(config.lr).toBe(DEFAULT_CONFIG.lr);
    expect(() => resolveConfig({ lr: 1e-4, minLr: 1e-3 })).toThrow(/minLr/);
  });

  it('derives the step count from a token budget', () => {
    const config = resolveConfig({ batchSize: 4, seqLen: 32, gradAccum: 2, tokenBudget: 1000 });
    expect(totalSteps(config)).toBe(Math.ceil(1000 / 256));
    expect(totalSteps(resolveConfig({ steps: 9 }))).toBe(9);
  });

  it('parses --model key=value pairs as JSON when possible', () => {
    expect(parseModelOverrides(['hidden_size=96', 'tie_word_embeddings=false', 'rope_style=interleaved'])).toEqual({
      hidden_size: 96,
      tie_word_embeddings: false,
      rope_style: 'interleaved',
    });
    expect(() => parseModelOverrides(['hidden_size'])).toThrow(/--model: expected key=value/);
  });
});
