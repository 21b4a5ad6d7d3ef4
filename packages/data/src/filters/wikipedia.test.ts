import { describe, expect, it } from 'vitest';
import { stripWikiMarkup } from './wikipedia.js';

describe('Wikipedia markup stripping', () => {
  it('turns links into their labels and drops file and category links', () => {
    expect(stripWikiMarkup('The [[Rhine|river Rhine]] flows past [[Basel]].')).toBe(
      'The river Rhine flows past Basel.',
    );
    expect(stripWikiMarkup('[[File:Map.png|thumb|A [[map]] of it]]Text.[[Category:Rivers]]')).toBe('Text.');
    expect(stripWikiMarkup('See [https://example.org the site] or [http://x.y].')).toBe('See the site or .');
  });

  it('removes nested templates, tables, refs and comments', () => {
    const text =
      '{{Infobox river|name={{lang|de|Rhein}}|length=1233}}The Rhine<ref name="a">Cite {{cite web}}</ref> is long.<ref name="b"/>' +
      '<!-- hidden -->\n{| class="wikitable"\n|-\n| a || b\n|}\nEnd.';
    expect(stripWikiMarkup(text)).toBe('The Rhine is long.\n\nEnd.');
  });

  it('strips headings, bold/italic quotes, list markers, HTML tags and entities', () => {
    const text = "== History ==\n'''Basel''' is ''old''.\n* first &amp; <small>second</small>\n=== Sub ===";
    expect(stripWikiMarkup(text)).toBe('History\nBasel is old.\nfirst & second\nSub');
  });
});
