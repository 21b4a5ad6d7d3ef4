// Every ```ts block of docs/guides runs as written (transpiled, imported as an ES module in a fresh folder, on the
// CPU backend), so the guides cannot rot. A block may opt out only with `no-run: <reason>` after the language. The
// cheap CLI lines of ```sh blocks (`--help`, `plan`) run too and must exit 0. A planted failing block and a block
// without a reason check that the runner can fail.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { type CodeBlock, codeBlocks } from './code-blocks.js';

const root = resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(root, 'test', '.guides-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const blocks = codeBlocks(join(root, 'docs/guides'), 'docs/guides');

let counter = 0;
/** Runs a TypeScript block as a module in its own folder; returns what it logged. */
async function runBlock(block: CodeBlock): Promise<string[]> {
  const dir = join(tmp, `block-${++counter}`);
  mkdirSync(dir, { recursive: true });
  const js = ts.transpileModule(block.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const file = join(dir, 'block.mjs');
  writeFileSync(file, js);
  const logs: string[] = [];
  const log = console.log;
  const cwd = process.cwd();
  console.log = (...args: unknown[]) => logs.push(args.map(String).join(' '));
  process.chdir(dir); // relative paths in a block land in its own folder
  try {
    await import(pathToFileURL(file).href);
  } catch (e) {
    throw new Error(`${block.where}: ${(e as Error).message}`, { cause: e });
  } finally {
    console.log = log;
    process.chdir(cwd);
  }
  return logs;
}

/** The cheap CLI lines of a sh block: `--help` and `plan`, run through the committed bin shims. */
function cheapCommands(block: CodeBlock): string[] {
  return block.code
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => /^(node apps\/\w+\/bin\/andes-\w+\.js|andes-\w+|npx andes-\w+) .*(--help|\bplan\b)/.test(l));
}

describe('docs/guides', () => {
  it('has the ten guides, each with a runnable block or a CLI line', () => {
    const files = new Set(blocks.map((b) => b.where.split(':')[0]));
    expect(files.size).toBeGreaterThanOrEqual(10);
  });

  for (const block of blocks.filter((b) => b.lang === 'ts')) {
    it.skipIf(block.info.startsWith('no-run'))(`${block.where} runs`, async () => {
      process.env.ANDES_BACKEND = 'cpu';
      const logs = await runBlock(block);
      expect(logs.length, `${block.where} logs nothing: a block should show its result`).toBeGreaterThan(0);
    });
  }

  it('every block that does not run says why', () => {
    for (const b of blocks.filter((x) => x.info.startsWith('no-run'))) {
      expect(b.info, `${b.where}: no-run needs a reason ("no-run: …")`).toMatch(/^no-run: \S.{8,}/);
    }
  });

  for (const block of blocks.filter((b) => b.lang === 'sh' && cheapCommands(b).length > 0)) {
    it(`${block.where}: its --help and plan lines exit 0`, () => {
      for (const line of cheapCommands(block)) {
        const [, app, rest] = /andes-(\w+)(?:\.js)? (.*)$/.exec(line)!;
        const args = rest!.match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ''));
        const run = spawnSync(process.execPath, [join(root, `apps/${app}/bin/andes-${app}.js`), ...args], {
          encoding: 'utf8',
          timeout: 60_000,
        });
        expect(run.status, `${block.where}: ${line}\n${run.stderr}`).toBe(0);
      }
    });
  }

  it('the runner fails a failing block and names where it is', async () => {
    const bad = { where: 'planted.md:3', lang: 'ts', info: '', code: "throw new Error('planted');" };
    await expect(runBlock(bad)).rejects.toThrow('planted.md:3: planted');
    expect(cheapCommands({ ...bad, lang: 'sh', code: 'andes-train plan --params 7e9  # note\nnpm start' })).toEqual([
      'andes-train plan --params 7e9',
    ]);
  });
});
