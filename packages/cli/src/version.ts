/**
 * `--version` of the CLIs: the `version` of the package a module belongs to.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `version` field of the nearest `package.json` at or above the directory of `moduleUrl` (pass
 * `import.meta.url`), so `dist/program.js` reports its own package's version.
 */
export function packageVersion(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const json = JSON.parse(readFileSync(candidate, 'utf8')) as { version?: unknown };
      if (typeof json.version === 'string') return json.version;
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}
