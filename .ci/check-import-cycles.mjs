#!/usr/bin/env node
// Fails (exit 1) when the TypeScript sources import each other in a circle, printing each cycle as a chain of files.
//
//   node .ci/check-import-cycles.mjs [--runtime-only] [dir …]
//   import { findImportCycles } from './.ci/check-import-cycles.mjs'  (the same, as data: tests use it)
//
// Without dirs it checks packages/*/src and apps/*/src of the repository, plus the graph of workspace packages
// (their package.json dependencies). An edge is a static `import … from` / `export … from` / `import '…'` whose
// specifier is relative or names a workspace package (`@andes/tensor`, `@andes/tensor/testing`, mapped back to the
// package's src/). Type-only imports (`import type`, `export type`, `import { type X }`) count too: they make no
// run-time edge, but a type cycle still ties two modules into one concept that cannot be read, built or moved alone
// (and is what `madge --circular` reports). --runtime-only skips `import type` and `export type` (the compiler erases
// them), to see just the cycles that can break module evaluation. Dynamic `import()` loads lazily and cannot deadlock
// module evaluation, so it is always skipped.
//
// Parsing uses the repository's own TypeScript (already a dev dependency), so comments and strings never fool it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Workspace packages: name, folder, the names of the workspace packages it depends on, and its subpath exports. */
function listWorkspaces() {
  const out = [];
  for (const group of ['packages', 'apps']) {
    const base = join(repo, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const file = join(base, name, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      const deps = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies };
      out.push({ name: pkg.name, dir: join(base, name), deps: Object.keys(deps), exports: pkg.exports ?? {} });
    }
  }
  const names = new Set(out.map((w) => w.name));
  for (const w of out) w.deps = w.deps.filter((d) => names.has(d));
  return out;
}

function listSources(dir) {
  const files = [];
  for (const entry of readdirSync(dir).sort()) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) files.push(...listSources(path));
    else if (/\.(m|c)?tsx?$/.test(entry) && !entry.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

/** The static import specifiers of one file (only those that make a run-time edge when `types` is false). */
function specifiersOf(file, withTypes) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const specs = [];
  for (const s of source.statements) {
    if (!s.moduleSpecifier || !ts.isStringLiteral(s.moduleSpecifier)) continue;
    if (ts.isImportDeclaration(s) && s.importClause?.isTypeOnly && !withTypes) continue;
    if (ts.isExportDeclaration(s) && s.isTypeOnly && !withTypes) continue;
    if (ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) specs.push(s.moduleSpecifier.text);
  }
  return specs;
}

/** `./foo.js` → `./foo.ts` (NodeNext spells the emitted name), or a folder's index; null when not a source file. */
function resolveFile(from, spec) {
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(m|c)?(j|t)sx?$/, '');
  for (const candidate of [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** `@andes/tensor/testing` → packages/tensor/src/testing/index.ts (the export's dist path mapped to src). */
function resolvePackage(spec, workspaces) {
  for (const w of workspaces) {
    if (spec !== w.name && !spec.startsWith(`${w.name}/`)) continue;
    const sub = spec === w.name ? '.' : `./${spec.slice(w.name.length + 1)}`;
    const entry = w.exports[sub];
    const target = typeof entry === 'string' ? entry : (entry?.default ?? entry?.import);
    if (typeof target !== 'string') return null;
    const src = join(w.dir, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
    return existsSync(src) ? src : null;
  }
  return null;
}

/** Strongly connected components with more than one member, or a single member that imports itself (Tarjan). */
function cyclicComponents(graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const found = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    // Iterative DFS: each frame is a node and the position in its edge list.
    const frames = [[start, 0]];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1];
      const [node, i] = frame;
      const edges = graph.get(node);
      if (i < edges.length) {
        frame[1]++;
        const to = edges[i];
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          frames.push([to, 0]);
        } else if (onStack.has(to)) {
          low.set(node, Math.min(low.get(node), index.get(to)));
        }
        continue;
      }
      frames.pop();
      if (frames.length > 0) {
        const parent = frames[frames.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) !== index.get(node)) continue;
      const members = [];
      let m;
      do {
        m = stack.pop();
        onStack.delete(m);
        members.push(m);
      } while (m !== node);
      if (members.length > 1 || edges.includes(node)) found.push(members);
    }
  }
  return found;
}

/** A shortest cycle through the component's first member (breadth-first inside the component). */
function chainIn(graph, members) {
  const inside = new Set(members);
  const start = [...members].sort()[0];
  const parent = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const to of graph.get(node)) {
      if (to === start) {
        const chain = [start];
        for (let n = node; n !== start; n = parent.get(n)) chain.splice(1, 0, n);
        return [...chain, start];
      }
      if (inside.has(to) && !parent.has(to)) {
        parent.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

/**
 * The import cycles under `dirs` (default: every workspace's src/, plus the workspace package graph), each as a chain
 * of files (or package names) that starts and ends at the same one, and the other members of its loop. `types: false`
 * skips `import type` / `export type` (the --runtime-only flag).
 */
export function findImportCycles({ dirs = [], types = true } = {}) {
  const workspaces = dirs.length > 0 ? [] : listWorkspaces();
  const roots = dirs.length > 0 ? dirs.map((d) => resolve(d)) : workspaces.map((w) => join(w.dir, 'src'));
  const files = new Map();
  for (const root of roots.filter((r) => dirs.length > 0 || existsSync(r))) {
    if (!existsSync(root)) throw new Error(`check-import-cycles: no such folder ${root}`);
    for (const file of listSources(root)) files.set(file, []);
  }
  for (const [file, edges] of files) {
    for (const spec of specifiersOf(file, types)) {
      const target = spec.startsWith('.') ? resolveFile(file, spec) : resolvePackage(spec, workspaces);
      if (target && files.has(target) && !edges.includes(target)) edges.push(target);
    }
  }
  const packages = new Map(workspaces.map((w) => [w.name, w.deps]));
  const cycles = [];
  for (const [kind, graph] of [
    ['files', files],
    ['packages', packages],
  ]) {
    for (const members of cyclicComponents(graph)) {
      const chain = chainIn(graph, members);
      cycles.push({ kind, chain, others: members.filter((m) => !chain.includes(m)).sort() });
    }
  }
  return { cycles, files: files.size, roots: roots.length };
}

function main() {
  const args = process.argv.slice(2);
  const flags = args.filter((a) => a.startsWith('--'));
  const dirs = args.filter((a) => !a.startsWith('--'));
  // --types (the default now) is still accepted, so older invocations keep working.
  const unknown = flags.filter((f) => f !== '--runtime-only' && f !== '--types');
  if (unknown.length > 0) {
    console.error(`check-import-cycles: unknown option ${unknown[0]} (known: --runtime-only, --types)`);
    process.exit(2);
  }
  let result;
  try {
    result = findImportCycles({ dirs, types: !flags.includes('--runtime-only') });
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  const label = (f) => (f.startsWith('@') ? f : relative(process.cwd(), f));
  for (const { kind, chain, others } of result.cycles) {
    console.error(
      `import cycle (${kind}, ${chain.length - 1 + others.length} in the loop): ${chain.map(label).join(' → ')}`,
    );
    if (others.length > 0) console.error(`  also in the same loop: ${others.map(label).join(', ')}`);
  }
  if (result.cycles.length > 0) {
    console.error(`check-import-cycles: ${result.cycles.length} cycle(s) among ${result.files} files`);
    process.exit(1);
  }
  console.log(`check-import-cycles: no cycles among ${result.files} files in ${result.roots} folder(s)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
