import { type DocumentFilter, textFilter } from './document-filter.js';
import { decodeHtmlEntities } from './html.js';

/** Removes balanced `open … close` spans (nested ones too), e.g. `{{…}}` templates or `{|…|}` tables. */
function removeNested(text: string, open: string, close: string): string {
  let out = '';
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith(open, i)) {
      depth++;
      i += open.length;
    } else if (depth > 0 && text.startsWith(close, i)) {
      depth--;
      i += close.length;
    } else {
      if (depth === 0) out += text[i];
      i++;
    }
  }
  return out;
}

const dropNamespaces = /^(?:file|image|category|media):/i;

/** `[[target|label]]` → label, `[[target]]` → target; file, image and category links vanish. Handles nesting. */
function replaceWikiLinks(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('[[', i);
    if (start < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, start);
    let depth = 0;
    let j = start;
    for (; j < text.length; j++) {
      if (text.startsWith('[[', j)) {
        depth++;
        j++;
      } else if (text.startsWith(']]', j)) {
        depth--;
        j++;
        if (depth === 0) break;
      }
    }
    const inner = text.slice(start + 2, j - 1);
    if (!dropNamespaces.test(inner)) {
      const bar = inner.lastIndexOf('|');
      out += replaceWikiLinks(bar >= 0 ? inner.slice(bar + 1) : inner);
    }
    i = j + 1;
  }
  return out;
}

/**
 * Plain text of Wikipedia wikitext (LLaMA §2: "we remove hyperlinks, comments and other formatting boilerplate"):
 * comments, `<ref>` citations, `{{templates}}`, `{| tables |}` and file/category links are removed; `[[a|b]]` → b,
 * `[[a]]` → a, `[http://url label]` → label, bare external links removed; `'''bold'''`/`''italic''` quotes dropped;
 * `== Heading ==` → Heading; remaining HTML tags removed and entities decoded; blank-line runs collapsed.
 */
export function stripWikiMarkup(text: string): string {
  let t = text.replace(/<!--[\s\S]*?-->/g, '');
  t = t.replace(/<ref\b[^>]*\/>/gi, '').replace(/<ref\b[^>]*>[\s\S]*?<\/ref\s*>/gi, '');
  t = removeNested(t, '{{', '}}');
  t = removeNested(t, '{|', '|}');
  t = replaceWikiLinks(t);
  t = t.replace(/\[(?:https?:)?\/\/[^\s\]]+\s+([^\]]*)\]/g, '$1').replace(/\[(?:https?:)?\/\/[^\s\]]+\]/g, '');
  t = t.replace(/'{2,}/g, '');
  t = t.replace(/^(={1,6})\s*(.*?)\s*\1\s*$/gm, '$2');
  t = t.replace(/^[*#:;]+\s*/gm, '');
  t = t.replace(/<\/?[a-z][^>]*>/gi, '');
  t = decodeHtmlEntities(t);
  return t
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** {@link stripWikiMarkup} as a filter. */
export function wikipediaFilter(): DocumentFilter {
  return textFilter('wikipedia', (text) => stripWikiMarkup(text));
}
