#!/usr/bin/env node
// Finishes the documentation site typedoc wrote to docs/api (guides + API reference of every package): copies the
// built playground in as docs/api/playground/ (the guides link to it), then checks every local link of the site.
// Usage: node .ci/docs-site.mjs   (after `turbo run build` and `typedoc`; `npm run docs` runs all three)
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLinks } from './check-links.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const site = join(root, 'docs/api');
const playground = join(root, 'apps/playground/dist');
if (!existsSync(join(site, 'index.html'))) {
  console.error(`docs-site: ${site}/index.html is missing; run typedoc first`);
  process.exit(1);
}
if (!existsSync(join(playground, 'index.html'))) {
  console.error(`docs-site: ${playground}/index.html is missing; build the playground first (npm run build)`);
  process.exit(1);
}
rmSync(join(site, 'playground'), { recursive: true, force: true });
cpSync(playground, join(site, 'playground'), { recursive: true });
const { pages, links, broken } = checkLinks(site);
for (const b of broken) console.error(`broken link: ${b}`);
console.log(`docs-site: ${pages} pages, ${links} local links checked, ${broken.length} broken`);
process.exit(broken.length > 0 ? 1 : 0);
