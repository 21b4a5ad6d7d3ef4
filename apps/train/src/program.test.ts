import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from './config.js';
import { configFromOptions } from './program.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-train-program-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('configFromOptions', () => {
  it('layers defaults, the config file and flags (flags win)', () => {
    const file = join(dir, 'run.json');
    writeFileSync(file, JSON.stringify({ steps: 5, lr: 1e-3, model: { hidden_size: 64 }, prompts: ['A'] }));
    const config = configFromOptions({
      config: file,
      steps: '7',
      batchSize: '3',
      model: ['num_hidden_layers=2'],
      prompt: ['B', 'C'],
    });
    expect(config.steps).toBe(7);
    expect(config.lr).toBe(1e-3);
    expect(config.batchSize).toBe(3);
    expect(config.seqLen).toBe(DEFAULT_CONFIG.seqLen);
    expect(config.model).toEqual({ hidden_size: 64, num_hidden_layers: 2 });
    expect(config.prompts).toEqual(['B', 'C']);
  });

  it('names the flag when a flag value is bad, even when the file is fine', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify({ steps: 5 }));
    expect(() => configFromOptions({ config: file, warmupSteps: '-3' })).toThrow(
      'flag --warmup-steps: expected a number >= 0, got "-3"',
    );
  });
});
