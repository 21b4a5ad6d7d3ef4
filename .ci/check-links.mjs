// A link checker for a built static site, offline: every local href/src of every HTML page must name an existing
// file (a folder means its index.html), and a #fragment on a local page must name an id or name on that page.
// External links (http:, https:, mailto:, data:, javascript:) are not fetched.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Every .html file under dir. */
function htmlFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...htmlFiles(path));
    else if (entry.name.endsWith('.html')) out.push(path);
  }
  return out;
}

const idCache = new Map();
/** The ids and anchor names a page defines. */
function idsOf(file) {
  let ids = idCache.get(file);
  if (!ids) {
    const html = readFileSync(file, 'utf8');
    ids = new Set([...html.matchAll(/\s(?:id|name)\s*=\s*["']([^"']+)["']/g)].map((m) => m[1]));
    idCache.set(file, ids);
  }
  return ids;
}

/**
 * Checks the site under `root`. Returns the number of pages and local links, and each broken link as
 * `page → href (why)`.
 * @param {string} root
 * @returns {{ pages: number, links: number, broken: string[] }}
 */
export function checkLinks(root) {
  const top = resolve(root);
  const pages = htmlFiles(top);
  const broken = [];
  let links = 0;
  for (const page of pages) {
    const html = readFileSync(page, 'utf8').replace(/<script[\s\S]*?<\/script>/g, (s) =>
      // Script bodies are code, not markup; keep the src of external scripts only.
      s.startsWith('<script') && /\ssrc=/.test(s.slice(0, s.indexOf('>'))) ? s.slice(0, s.indexOf('>') + 1) : '',
    );
    for (const m of html.matchAll(/\s(?:href|src)\s*=\s*["']([^"']*)["']/g)) {
      const raw = m[1].replace(/&amp;/g, '&');
      if (raw === '' || /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(raw)) continue;
      links++;
      const [pathPart, fragment] = raw.split('#', 2);
      const clean = decodeURIComponent(pathPart.split('?')[0]);
      let target = clean === '' ? page : clean.startsWith('/') ? join(top, clean) : resolve(dirname(page), clean);
      const where = `${relative(top, page)} → ${raw}`;
      if (!target.startsWith(top)) {
        broken.push(`${where} (outside the site)`);
        continue;
      }
      if (existsSync(target) && statSync(target).isDirectory()) target = join(target, 'index.html');
      if (!existsSync(target)) {
        broken.push(`${where} (no such file)`);
        continue;
      }
      // typedoc's hierarchy.html draws its entries (and their ids) in the browser from a script, so its fragments
      // cannot be checked in the HTML.
      const scripted = target.endsWith('hierarchy.html');
      if (fragment && target.endsWith('.html') && !scripted && !idsOf(target).has(decodeURIComponent(fragment))) {
        broken.push(`${where} (no id "${fragment}" on the page)`);
      }
    }
  }
  return { pages: pages.length, links, broken };
}
