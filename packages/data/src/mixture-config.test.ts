import { describe, expect, it } from 'vitest';
import { createFilter, llamaSourceFilters } from './filters/filter-registry.js';
import { llamaMixture, llamaMixturePreset, parseMixtureConfig, syntheticMixture } from './mixture-config.js';

const ok = { sources: [{ name: 'a', type: 'text', path: 'a.txt', weight: 1 }] };

describe('parseMixtureConfig', () => {
  it('accepts valid configs', () => {
    expect(parseMixtureConfig(ok)).toEqual(ok);
    expect(parseMixtureConfig(syntheticMixture(3)).sources[0]!.seed).toBe(3);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not an object', 5, /mix\.json must be an object/],
    ['no sources', { sources: [] }, /mix\.json\.sources must be a non-empty array/],
    ['unknown top field', { ...ok, extra: 1 }, /mix\.json\.extra is not a mixture field/],
    ['typo field', { sources: [{ ...ok.sources[0], wieght: 1 }] }, /sources\[0\]\.wieght is not a source field/],
    ['bad weight', { sources: [{ ...ok.sources[0], weight: -1 }] }, /sources\[0\]\.weight \(a\) must be a positive/],
    ['bad type', { sources: [{ ...ok.sources[0], type: 'csv' }] }, /sources\[0\]\.type \(a\) must be one of/],
    ['missing path', { sources: [{ name: 'a', type: 'jsonl', weight: 1 }] }, /sources\[0\]\.path \(a\) is required/],
    ['bad epochs', { sources: [{ ...ok.sources[0], epochs: 0 }] }, /sources\[0\]\.epochs \(a\) must be a positive/],
    ['field on text', { sources: [{ ...ok.sources[0], field: 'x' }] }, /sources\[0\]\.field \(a\)/],
    ['duplicate', { sources: [ok.sources[0], ok.sources[0]] }, /sources\[1\]\.name "a" is used by an earlier source/],
    [
      'synthetic path',
      { sources: [{ name: 's', type: 'synthetic', path: 'x', weight: 1 }] },
      /sources\[0\]\.path \(s\)/,
    ],
    [
      'documents on jsonl',
      { sources: [{ name: 'j', type: 'jsonl', path: 'x', weight: 1, documents: 'line' }] },
      /documents \(j\)/,
    ],
  ];
  it.each(bad)('%s → error naming the field', (_, json, message) => {
    expect(() => parseMixtureConfig(json, 'mix.json')).toThrow(message);
  });
});

describe('llama preset', () => {
  it('carries the paper table: proportions sum to 100 %', () => {
    const weights = Object.fromEntries(llamaMixturePreset.sources.map((s) => [s.name, s.weight]));
    expect(weights).toEqual({
      CommonCrawl: 67,
      C4: 15,
      GitHub: 4.5,
      Wikipedia: 4.5,
      Books: 4.5,
      ArXiv: 2.5,
      StackExchange: 2,
    });
    expect(llamaMixturePreset.sources.reduce((s, x) => s + x.weight, 0)).toBeCloseTo(100, 10);
  });

  it('fails naming the first missing path, and works once filled', () => {
    expect(() => parseMixtureConfig(llamaMixturePreset)).toThrow(/sources\[0\]\.path \(CommonCrawl\) is required/);
    expect(() => llamaMixture({ CommonCrawl: 'cc/*.jsonl' })).toThrow(/sources\[1\]\.path \(C4\) is required/);
    expect(() => llamaMixture({ Reddit: 'x' })).toThrow(/unknown source "Reddit"/);
    const names = llamaMixturePreset.sources.map((s) => s.name);
    const filled = llamaMixture(Object.fromEntries(names.map((n) => [n, `${n}/*.jsonl`])));
    expect(filled.sources.map((s) => s.path)).toEqual(names.map((n) => `${n}/*.jsonl`));
    expect(llamaMixturePreset.sources[0]!.path).toBe('');
    // The paper's per-source cleaning travels with the preset (prepare applies it) and every filter builds.
    expect(Object.fromEntries(filled.sources.map((s) => [s.name, s.filters]))).toEqual(llamaSourceFilters);
    for (const s of filled.sources) for (const f of s.filters ?? []) expect(createFilter(f).name).toBeTruthy();
  });

  it('is usable from JSON as { preset: "llama", paths }, naming the missing path', () => {
    const names = llamaMixturePreset.sources.map((s) => s.name);
    const paths = Object.fromEntries(names.map((n) => [n, `/data/${n}/*.jsonl`]));
    const parsed = parseMixtureConfig({ preset: 'llama', paths }, 'mix.json');
    expect(parsed.sources.map((s) => [s.name, s.weight, s.path])).toEqual(
      llamaMixturePreset.sources.map((s) => [s.name, s.weight, `/data/${s.name}/*.jsonl`]),
    );
    const { ArXiv: _, ...missing } = paths;
    expect(() => parseMixtureConfig({ preset: 'llama', paths: missing }, 'mix.json')).toThrow(
      /mix\.json\.paths\.ArXiv is required/,
    );
    expect(() => parseMixtureConfig({ preset: 'llama' }, 'mix.json')).toThrow(
      /mix\.json\.paths\.CommonCrawl is required/,
    );
    expect(() => parseMixtureConfig({ preset: 'gpt3', paths }, 'mix.json')).toThrow(
      /mix\.json\.preset must be "llama"/,
    );
    expect(() => parseMixtureConfig({ preset: 'llama', paths: { ...paths, Reddit: 'x' } }, 'mix.json')).toThrow(
      /mix\.json\.paths\.Reddit is not a source of the llama preset/,
    );
  });
});
