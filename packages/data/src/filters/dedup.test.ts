import { describe, expect, it } from 'vitest';
import { exactDedupFilter, lineDedupFilter, normalizeLine } from './dedup.js';
import { FilterPipeline } from './document-filter.js';

const doc = (text: string) => ({ text, meta: {} });

describe('deduplication', () => {
  it('normalizes lines as CCNet does (case, digits, punctuation, accents, spaces)', () => {
    // Punctuation is deleted, not spaced (as CCNet does): "Mon–Fri" and "mon-fri" both become "monfri".
    expect(normalizeLine('  Café   OPEN 9–17, Mon–Fri!  ')).toBe(normalizeLine('cafe open 1-18 mon-fri'));
    expect(normalizeLine('cafe open 1-18 mon-fri')).toBe('cafe open 000 monfri');
    expect(normalizeLine('Copyright © 2021 Acme.')).toBe('copyright 0000 acme');
  });

  it('line dedup removes lines seen before (across and within documents), drops emptied documents', () => {
    const f = lineDedupFilter();
    expect(f.apply(doc('Welcome to our shop.\nFresh bread daily.\nwelcome to our shop!'))?.text).toBe(
      'Welcome to our shop.\nFresh bread daily.',
    );
    expect(f.apply(doc('Fresh bread daily.\nCakes on Sunday.'))?.text).toBe('Cakes on Sunday.');
    expect(f.apply(doc('FRESH BREAD DAILY'))).toBeNull();
  });

  it('line dedup keeps short lines below minChars', () => {
    const f = lineDedupFilter({ minChars: 10 });
    f.apply(doc('Home\nA long enough line here'));
    expect(f.apply(doc('Home\nA long enough line here'))?.text).toBe('Home');
  });

  it('exact dedup drops repeated documents (ends trimmed) and reports documents and bytes', () => {
    const p = new FilterPipeline([exactDedupFilter()]);
    expect(p.apply(doc('int main() {}\n'))).not.toBeNull();
    expect(p.apply(doc('  int main() {}'))).toBeNull();
    expect(p.apply(doc('int main() { }'))).not.toBeNull();
    expect(p.reports()).toEqual([
      {
        filter: 'exact-dedup',
        documentsIn: 3,
        documentsRemoved: 1,
        documentsChanged: 0,
        bytesIn: 43,
        bytesRemoved: 15,
      },
    ]);
  });
});
