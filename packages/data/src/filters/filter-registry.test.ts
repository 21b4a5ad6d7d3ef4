import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMixtureConfig } from '../mixture-config.js';
import { FilterPipeline } from './document-filter.js';
import { createFilter, filterNames, llamaSourceFilters } from './filter-registry.js';

describe('filter registry and pipeline', () => {
  it('builds every named filter and every preset list', () => {
    for (const name of filterNames) expect(createFilter(name).name).toBe(name);
    for (const specs of Object.values(llamaSourceFilters)) for (const s of specs) expect(createFilter(s)).toBeTruthy();
  });

  it('names the place, filter and option in errors', () => {
    expect(() => createFilter('c5', 'mix.sources[0].filters[1]')).toThrow(
      /mix\.sources\[0\]\.filters\[1\]: unknown filter "c5" \(known: line-dedup, /,
    );
    expect(() => createFilter({ name: 'c4', minWords: 3 })).toThrow(/filter c4 has no option "minWords"/);
    expect(() => createFilter({ name: 'language', keep: 'en' })).toThrow(
      /option keep of filter language must be a list of strings/,
    );
    expect(() => createFilter({ name: 'c4', badWordsFile: '/no/such/file' })).toThrow(
      /cannot read badWordsFile \/no\/such\/file/,
    );
    expect(() =>
      parseMixtureConfig({ sources: [{ name: 'a', type: 'jsonl', path: 'x', weight: 1, filters: [3] }] }),
    ).toThrow(/mixture\.sources\[0\]\.filters \(a\)\[0\] must be a filter name or an object with a "name", got 3/);
  });

  it('reads the C4 bad-words list from a file, one per line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'andes-badwords-'));
    writeFileSync(join(dir, 'bad.txt'), 'darn\n\nheck\n');
    const f = createFilter({ name: 'c4', badWordsFile: 'bad.txt', minSentences: 1 }, 'f', dir);
    expect(f.apply({ text: 'Well, heck, that is it.', meta: {} })).toBeNull();
    expect(f.apply({ text: 'Well, that is it.', meta: {} })).not.toBeNull();
  });

  it('reports documents and bytes removed per filter, in order', () => {
    const p = new FilterPipeline([createFilter('wikipedia'), createFilter('exact-dedup')]);
    p.apply({ text: "'''Bold''' [[a|b]]", meta: {} }); // 18 bytes → "Bold b" (6)
    p.apply({ text: 'Bold b', meta: {} }); // duplicate of the cleaned first
    p.apply({ text: '{{only a template}}', meta: {} }); // emptied by wikipedia: dropped
    expect(p.reports()).toEqual([
      { filter: 'wikipedia', documentsIn: 3, documentsRemoved: 1, documentsChanged: 1, bytesIn: 43, bytesRemoved: 31 },
      { filter: 'exact-dedup', documentsIn: 2, documentsRemoved: 1, documentsChanged: 0, bytesIn: 12, bytesRemoved: 6 },
    ]);
  });
});
