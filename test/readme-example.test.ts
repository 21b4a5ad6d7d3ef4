// Runs the README's "An example" code block as written (with the real LLaMA 2 tokenizer), so the front page never lies.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fixture = resolve(root, '../shared/fixtures/llama2-tokenizer.model');
const tmp = mkdtempSync(join(root, 'test', '.readme-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function exampleBlock(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.split('## An example')[1];
  const match = section?.match(/```ts\n([\s\S]*?)```/);
  if (!match?.[1]) throw new Error('README.md: no ```ts block under "## An example"');
  return match[1];
}

if (!existsSync(fixture)) console.warn(`README example skipped: ${fixture} (the LLaMA 2 tokenizer fixture) is absent`);

describe.skipIf(!existsSync(fixture))('README example', () => {
  it('runs as written and decodes 20 greedy tokens', async () => {
    const source = exampleBlock().replace("'tokenizer.model'", JSON.stringify(fixture));
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const file = join(tmp, 'example.mjs');
    writeFileSync(file, js);
    const logs: unknown[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => logs.push(args.join(' '));
    try {
      await import(pathToFileURL(file).href);
    } finally {
      console.log = log;
    }
    expect(logs).toHaveLength(1);
    expect(typeof logs[0]).toBe('string');
    expect((logs[0] as string).length).toBeGreaterThan(0);
  });
});
