// Every package's main entry must load in a browser or a bundler: walking the static import graph of each built
// `dist/` entry must never reach a `node:` module, a bare Node builtin (`fs`, `path`, …) or a native package. Node-only
// code sits behind a `./node` subpath export, or is loaded with `import()` inside a function that takes a path (that
// is the repo's pattern for "works with bytes everywhere, with paths in Node"). The planted cases check that the walk
// catches a builtin two hops away and through a re-export, and ignores dynamic imports and type-only imports.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
/** Packages that only work in Node (native code); reaching one from a main entry is as bad as `node:fs`. */
const nodeOnlyPackages = new Set(['webgpu']);
/**
 * Workspace packages that exist only for Node: `@andes/cli` is the apps' terminal layer (argv, exit codes, child
 * processes, package.json versions) and has nothing a page could use. They still carry the publishing metadata.
 */
const nodeOnlyWorkspacePackages = new Set(['@andes/cli']);

interface PackageJson {
  name: string;
  exports: Record<string, { default: string }>;
}

/** `@andes/*` package folders by package name. */
function workspacePackages(): Map<string, string> {
  const out = new Map<string, string>();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as PackageJson;
    out.set(pkg.name, join(root, 'packages', dir));
  }
  return out;
}

/** The static (load-time) import specifiers of one JS file; `import()` and `import type` are not load-time. */
function staticImports(source: string): string[] {
  const file = ts.createSourceFile('x.js', source, ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
  const out: string[] = [];
  for (const node of file.statements) {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isImportDeclaration(node) && node.importClause?.isTypeOnly) continue;
      if (ts.isExportDeclaration(node) && node.isTypeOnly) continue;
      if (ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    }
  }
  return out;
}

/**
 * Walks the static import graph from `entry`; returns each forbidden import as `file → specifier` (with the chain
 * of files that reached it), empty when the entry is browser-safe.
 */
function nodeImportsReachable(entry: string, packages: Map<string, string>): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const queue: { file: string; chain: string[] }[] = [{ file: entry, chain: [] }];
  while (queue.length > 0) {
    const { file, chain } = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const here = [...chain, file.slice(root.length + 1)];
    for (const spec of staticImports(readFileSync(file, 'utf8'))) {
      const bare = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      if (builtins.has(spec) || builtins.has(bare) || nodeOnlyPackages.has(bare)) {
        problems.push(`${here.join(' → ')} imports '${spec}'`);
      } else if (spec.startsWith('.')) {
        queue.push({ file: resolve(dirname(file), spec), chain: here });
      } else if (packages.has(bare)) {
        const dir = packages.get(bare)!;
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
        const sub = `.${spec.slice(bare.length)}`;
        const target = pkg.exports[sub]?.default;
        if (!target) throw new Error(`${file}: '${spec}' is not exported by ${bare}`);
        queue.push({ file: resolve(dir, target), chain: here });
      }
    }
  }
  return problems;
}

const packages = workspacePackages();
const tmp = mkdtempSync(join(tmpdir(), 'andes-browser-safe-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function plant(files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(tmp, path)), { recursive: true });
    writeFileSync(join(tmp, path), text);
  }
  return join(tmp, Object.keys(files)[0]!);
}

describe('browser-safe main entries', () => {
  for (const [name, dir] of packages) {
    it(`${name}: no node: module, Node builtin or native package reachable from its main entry`, () => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson & {
        sideEffects?: unknown;
        publishConfig?: { access?: string };
        engines?: { node?: string };
      };
      expect(pkg.exports['.'], `${name}: package.json has no "." export`).toBeDefined();
      if (!nodeOnlyWorkspacePackages.has(name)) {
        expect(nodeImportsReachable(resolve(dir, pkg.exports['.']!.default), packages)).toEqual([]);
      }
      // The bundler-facing metadata the walk relies on: tree-shaking is safe, and the package publishes publicly.
      expect(pkg.sideEffects, `${name}: sideEffects`).toBeDefined();
      expect(pkg.publishConfig?.access, `${name}: publishConfig.access`).toBe('public');
      expect(pkg.engines?.node, `${name}: engines.node`).toMatch(/^>=20/);
    });
  }

  it('finds a builtin two hops away and through a re-export, with the chain that reaches it', () => {
    const entry = plant({
      'a/index.js': "export { b } from './b.js';\nimport { c } from './c.js';\n",
      'a/b.js': "export const b = 1;\nexport { x } from './deep/x.js';\n",
      'a/c.js': 'export const c = 2;\n',
      'a/deep/x.js': "import { readFile } from 'fs';\nexport const x = readFile;\n",
    });
    const problems = nodeImportsReachable(entry, packages);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/index\.js → .*b\.js → .*x\.js imports 'fs'/);
  });

  it('ignores dynamic import() and type-only imports, but flags node: and native packages', () => {
    expect(staticImports("const f = await import('node:fs');\nimport type { X } from 'node:path';\n")).toEqual([]);
    const entry = plant({
      'b/index.js': "import 'node:crypto';\nexport * from 'webgpu';\n",
    });
    expect(nodeImportsReachable(entry, packages)).toEqual([
      expect.stringContaining("imports 'node:crypto'"),
      expect.stringContaining("imports 'webgpu'"),
    ]);
  });
});
