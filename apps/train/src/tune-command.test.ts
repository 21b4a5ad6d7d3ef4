import { setBackend } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { formatTuneReports, runTuneCommand, tuneConfig } from './tune-command.js';

describe('andes-train tune', () => {
  it('names missing or bad flags as config errors', async () => {
    await expect(runTuneCommand({})).rejects.toThrow(/missing --preset/);
    await expect(runTuneCommand({ preset: 'stories-15m', batchSize: '0' })).rejects.toThrow(
      /flag --batch-size: expected an integer >= 1, got "0"/,
    );
    await expect(runTuneCommand({ preset: 'nope' })).rejects.toBeInstanceOf(ConfigError);
    expect(() => tuneConfig('tiny', undefined)).toThrow(/preset 'tiny' needs --vocab-size/);
  });

  it('has nothing to tune on the CPU backend', async () => {
    await setBackend('cpu');
    const lines: string[] = [];
    const reports = await runTuneCommand({ preset: 'stories-15m', backend: 'cpu' }, (l) => lines.push(l));
    expect(reports).toEqual([]);
    expect(lines.join('\n')).toMatch(/backend: cpu — nothing to tune/);
  });

  it('formats one line per shape class with the candidates timed', () => {
    const text = formatTuneReports([
      {
        family: 'matmul',
        shapeClass: 'kk:b0:m128:n512:k256',
        winner: 's18',
        times: { s18: 1.5, d1: 9.25 },
        cached: false,
      },
      { family: 'attention', shapeClass: 'd48:g1:t32:s32:causal', winner: 'direct', times: {}, cached: true },
    ]);
    expect(text).toMatch(/matmul\s+kk:b0:m128:n512:k256\s+s18\s+s18 1\.50, d1 9\.25/);
    expect(text).toMatch(/attention\s+d48:g1:t32:s32:causal\s+direct\s+\(cached\)/);
  });
});
