// The CI import-cycle check (.ci/check-import-cycles.mjs): it must fail on a planted cycle (type-only ones included),
// see through comments and strings, and pass on the repository itself. One run goes through the command line (exit code and
// report); the rest call the same function in-process, which is much faster than a process each.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations.
import { findImportCycles } from '../.ci/check-import-cycles.mjs';

interface Cycle {
  kind: string;
  chain: string[];
  others: string[];
}
const find = findImportCycles as (o: { dirs?: string[]; types?: boolean }) => { cycles: Cycle[]; files: number };

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, '.ci', 'check-import-cycles.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'andes-cycles-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes `files` (path → source) into a fresh folder; returns the folder. */
function plant(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** The cycles in a planted folder, each chain as paths relative to it (`types: false` = --runtime-only). */
function chains(dir: string, types = true): string[][] {
  return find({ dirs: [dir], types }).cycles.map((c) => c.chain.map((f) => relative(dir, f)));
}

describe('check-import-cycles', () => {
  it('exits 1 on two files that import each other, printing the chain', () => {
    const dir = plant('pair', {
      'a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      'c.ts': "import { a } from './a.js';\nexport const c = a;\n",
    });
    const run = spawnSync(process.execPath, [script, dir], { cwd: dir, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/import cycle \(files, 2 in the loop\): a\.ts → b\.ts → a\.ts/);
    expect(run.stderr).not.toMatch(/c\.ts/);
    expect(basename(dir)).toBe('pair');
  });

  it('finds a longer loop through folders, index files and re-exports, and a file importing itself', () => {
    const dir = plant('long', {
      'x.ts': "export { y } from './sub/index.js';\nexport const x = 1;\n",
      'sub/index.ts': "export { y } from './y.js';\n",
      'sub/y.ts': "import { x } from '../x.js';\nexport const y = x;\n",
      'self.ts': "import * as me from './self.js';\nexport const s = () => me;\n",
    });
    expect(chains(dir).sort()).toEqual([
      ['self.ts', 'self.ts'],
      ['sub/index.ts', 'sub/y.ts', 'x.ts', 'sub/index.ts'],
    ]);
  });

  it('passes an acyclic graph, ignoring imports in comments and strings and dynamic import()', () => {
    const dir = plant('clean', {
      'a.ts': "import { b } from './b.js';\n// import { a } from './a.js';\nexport const a = b;\n",
      'b.ts':
        "/** import { a } from './a.js'; */\nexport const b = 'import { a } from \"./a.js\"';\n" +
        "export const later = () => import('./a.js');\n",
    });
    expect(chains(dir)).toEqual([]);
    expect(find({ dirs: [dir] }).files).toBe(2);
  });

  it('counts a type-only cycle by default and exits 1 on it; --runtime-only skips `import type` but not `{ type X }`', () => {
    const typeOnly = {
      'a.ts': "import type { B } from './b.js';\nexport interface A { b: B }\nexport const a = 1;\n",
      'b.ts': "import { a } from './a.js';\nexport interface B { n: number }\nexport const b = a;\n",
    };
    const dir = plant('type-only', typeOnly);
    expect(chains(dir)).toEqual([['a.ts', 'b.ts', 'a.ts']]);
    expect(chains(dir, false)).toEqual([]);
    const run = spawnSync(process.execPath, [script, dir], { cwd: dir, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/import cycle \(files, 2 in the loop\): a\.ts → b\.ts → a\.ts/);
    const runtimeOnly = spawnSync(process.execPath, [script, '--runtime-only', dir], { cwd: dir, encoding: 'utf8' });
    expect(runtimeOnly.status).toBe(0);
    expect(runtimeOnly.stdout).toMatch(/no cycles among 2 files/);
    const inline = plant('inline-type', {
      ...typeOnly,
      'a.ts': "import { type B } from './b.js';\nexport type A = B;\nexport const a = 1;\n",
    });
    expect(chains(inline, false)).toEqual([['a.ts', 'b.ts', 'a.ts']]);
  });

  it('finds a cycle made only of `import type` and `export type … from` (no run-time edge at all)', () => {
    const dir = plant('types-both-ways', {
      'node.ts': "import type { Holder } from './holder.js';\nexport interface Node { owner: Holder }\n",
      'holder.ts': "export type { Node } from './node.js';\nexport interface Holder { n: number }\n",
      'leaf.ts': "import type { Node } from './node.js';\nexport type Leaf = Node;\n",
    });
    expect(chains(dir)).toEqual([['holder.ts', 'node.ts', 'holder.ts']]);
    expect(chains(dir, false)).toEqual([]);
  });

  it('rejects an unknown option with exit 2', () => {
    const run = spawnSync(process.execPath, [script, '--typo'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/unknown option --typo/);
  });

  it('reports the repository (every workspace src/ and the package graph) free of import cycles, type-only included', () => {
    const result = find({});
    expect(result.cycles).toEqual([]);
    expect(find({ types: false }).cycles).toEqual([]);
    expect(result.files).toBeGreaterThan(200);
  });
});
