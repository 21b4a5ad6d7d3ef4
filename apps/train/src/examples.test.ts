import { readFileSync } from 'node:fs';
import { parseMixtureConfig } from '@andes/data';
import { describe, expect, it } from 'vitest';
import { parseConfigObject, resolveConfig, totalSteps } from './config.js';

const example = (name: string) => JSON.parse(readFileSync(new URL(`../examples/${name}`, import.meta.url), 'utf8'));

describe('the example files in apps/train/examples', () => {
  it('stories-15m.json is a valid run config', () => {
    const config = resolveConfig(parseConfigObject(example('stories-15m.json'), 'stories-15m.json'));
    expect(config.preset).toBe('stories-15m');
    expect(totalSteps(config)).toBe(Math.ceil(20_000_000 / (8 * 256 * 4)));
  });

  it('mixture.json is a valid @andes/data mixture', () => {
    expect(parseMixtureConfig(example('mixture.json')).sources.map((s) => s.name)).toEqual(['stories', 'notes']);
  });
});
