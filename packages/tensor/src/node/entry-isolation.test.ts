import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every module reachable from `entry` through static imports and re-exports, with its imported specifiers. */
function staticGraph(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    // `import … from '…'`, `export … from '…'` and bare `import '…'`; dynamic import() is deliberately not followed.
    const specs = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'|^import\s+'([^']+)'/gms)].map(
      (m) => (m[1] ?? m[2]) as string,
    );
    seen.set(file, specs);
    for (const s of specs) if (s.startsWith('.')) queue.push(join(dirname(file), s.replace(/\.js$/, '.ts')));
  }
  return seen;
}

describe('@andes/tensor entries', () => {
  it('the main entry reaches no node: module and not the Node-only ./node entry', () => {
    const graph = staticGraph(join(src, 'index.ts'));
    expect(graph.size).toBeGreaterThan(20);
    const offenders = [...graph].flatMap(([file, specs]) =>
      specs.filter((s) => s.startsWith('node:') || s.includes('/node/')).map((s) => `${file} imports ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the ./node entry does use node: modules (so the check above can fail)', () => {
    const graph = staticGraph(join(src, 'node', 'index.ts'));
    expect([...graph.values()].flat().some((s) => s.startsWith('node:'))).toBe(true);
  });
});
