/**
 * Issue 10, item 4: `npm ci` links every app's bins. npm links a workspace's bins from package-lock.json's entry for
 * it, so the lock must list each `bin` of each app's package.json; after `npm ci`, node_modules/.bin holds them and
 * each runs.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const APPS = ['train', 'serve', 'eval'];
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { bin?: Record<string, string> }>;
};

/** The `bin` entries of an app's package.json, paths normalised as npm writes them into the lock. */
function bins(app: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'apps', app, 'package.json'), 'utf8')) as {
    bin?: Record<string, string>;
  };
  return Object.fromEntries(Object.entries(pkg.bin ?? {}).map(([k, v]) => [k, v.replace(/^\.\//, '')]));
}

describe('every bin is linked by npm ci', () => {
  it.each(APPS)('package-lock.json lists the bins of apps/%s', (app) => {
    const declared = bins(app);
    expect(Object.keys(declared).length).toBeGreaterThan(0);
    expect(lock.packages[`apps/${app}`]?.bin).toEqual(declared);
  });

  it.each(APPS)('node_modules/.bin links the bins of apps/%s to executable shims that run', (app) => {
    for (const [name, path] of Object.entries(bins(app))) {
      const link = join(root, 'node_modules', '.bin', name);
      expect(existsSync(link), `${link} is missing: run npm ci`).toBe(true);
      expect(realpathSync(link)).toBe(realpathSync(join(root, 'apps', app, path)));
      accessSync(link, constants.X_OK);
      expect(readFileSync(link, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
      const version = spawnSync(link, ['--version'], { encoding: 'utf8' });
      expect(version.status, version.stderr).toBe(0);
      expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    }
  });
});
