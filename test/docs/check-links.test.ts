// The docs site's link checker (.ci/check-links.mjs) on a planted site: a good page, a missing file, a missing
// fragment, a folder link (its index.html), external links (not fetched), and a link out of the site.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations.
import { checkLinks } from '../../.ci/check-links.mjs';

const check = checkLinks as (root: string) => { pages: number; links: number; broken: string[] };
const tmp = mkdtempSync(join(tmpdir(), 'andes-links-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function site(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmp, 'site-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('check-links', () => {
  it('passes a site whose local links all resolve, without fetching external ones', () => {
    const dir = site({
      'index.html':
        '<a href="guide/a.html#install">a</a> <a href="play/">play</a> <a href="https://example.com/x">x</a>' +
        '<img src="img/logo.png"> <a href="#top">top</a><h1 id="top">t</h1> <a href="mailto:a@b.c">m</a>',
      'guide/a.html': '<h2 id="install">Install</h2><a href="../index.html">home</a>',
      'play/index.html':
        '<script type="module" src="./assets/app.js"></script><script>const s = "<a href=nowhere>";</script>',
      'play/assets/app.js': '',
      'img/logo.png': '',
    });
    expect(check(dir)).toEqual({ pages: 3, links: 6, broken: [] });
  });

  it('names each broken link with its page and the reason', () => {
    const dir = site({
      'index.html': '<a href="gone.html">g</a> <a href="b.html#nope">n</a> <a href="../outside.html">o</a>',
      'b.html': '<p id="yes">b</p>',
    });
    expect(check(dir).broken).toEqual([
      'index.html → gone.html (no such file)',
      'index.html → b.html#nope (no id "nope" on the page)',
      'index.html → ../outside.html (outside the site)',
    ]);
  });
});
