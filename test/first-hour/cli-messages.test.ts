/**
 * Issue 10, item 6: every CLI speaks one error format (`andes-<tool>: what (what to do)`), shows no stack trace and
 * no Dawn warning on bad input — with the backend left on auto, so Dawn is loaded wherever the machine has an
 * adapter — has `--version`, and `andes-eval` says what a dead server, a bad number and its progress mean.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { tinyModelDir } from '../eval/tiny-model-dir.js';
import { BINS, expectNoNoise, expectOneLineError, run } from './run-cli.js';

/** A port nothing listens on: bound once by the OS, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('--version and --help', () => {
  it('every bin prints its package version and its help, with nothing on stderr', () => {
    for (const app of Object.keys(BINS) as (keyof typeof BINS)[]) {
      const pkg = JSON.parse(readFileSync(new URL(`../../apps/${app}/package.json`, import.meta.url), 'utf8'));
      const version = run(app, ['--version'], { backend: 'auto' });
      expect(version.status, version.stderr).toBe(0);
      expect(version.stdout.trim()).toBe(pkg.version);
      const help = run(app, ['--help'], { backend: 'auto' });
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`Usage: andes-${app}`));
      expect(help.stderr).toBe('');
    }
  });
});

describe('bad input gives one line, no stack trace, no Dawn warning', () => {
  it('andes-train: a bad flag, an unknown flag, a missing run directory', () => {
    expectOneLineError(run('train', ['pretrain', '--lr', 'fast'], { backend: 'auto' }), 'train', /flag --lr: .*"fast"/);
    expectOneLineError(
      run('train', ['pretrain', '--learning-rate', '1'], { backend: 'auto' }),
      'train',
      /unknown option '--learning-rate' \(/,
    );
    expectOneLineError(
      run('train', ['resume', '/nonexistent-andes-run'], { backend: 'auto' }),
      'train',
      /not a run directory \(no config\.json\) \(pass the --out-dir of a pretrain run/,
    );
  });

  it('andes-serve: a missing model directory and a bad port', () => {
    const missing = run('serve', ['--model', '/nonexistent-andes-model', '--port', '0'], { backend: 'auto' });
    expectOneLineError(
      missing,
      'serve',
      /cannot load the model in \/nonexistent-andes-model: cannot read \/nonexistent-andes-model\/config\.json .*\(pass --model a model directory/,
    );
    expect(missing.stderr).not.toMatch(/loadModelDir/);
    expectOneLineError(
      run('serve', ['--model', 'x', '--port', 'eighty'], { backend: 'auto' }),
      'serve',
      /--port.*eighty/,
    );
  });

  it('andes-eval: a missing model, a bad number (flag and value, not the whole help), a dead server', async () => {
    const missing = run('eval', ['tasks', '--model', '/nonexistent-andes-model'], { backend: 'auto' });
    expectOneLineError(missing, 'eval', /cannot load the model in \/nonexistent-andes-model: cannot read/);
    expect(missing.stderr).not.toMatch(/loadModelDir/);
    const bad = run('eval', ['tasks', '--model', 'x', '--batch-size', 'many'], { backend: 'auto' });
    expectOneLineError(bad, 'eval', /--batch-size.*"many"/);
    expect(bad.stdout + bad.stderr).not.toMatch(/Usage:/);
    const port = await deadPort();
    const url = `http://127.0.0.1:${port}`;
    expectOneLineError(
      run('eval', ['tasks', '--server', url, '--builtin-items', '4'], { backend: 'auto' }),
      'eval',
      new RegExp(`cannot reach ${url}/v1/\\S+ \\(ECONNREFUSED\\) \\(is the server running at --server\\?`),
    );
  });

  it('--verbose (or DEBUG) shows the stack trace that is otherwise hidden', () => {
    const result = run('train', ['resume', '/nonexistent-andes-run', '--verbose']);
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n')[0]).toMatch(/^andes-train: resume: /);
    expect(result.stderr).toMatch(/^\s+at /m);
  });
});

describe('andes-eval output', () => {
  let model: string;
  beforeAll(async () => {
    await setBackend('cpu');
    model = await tinyModelDir({ seed: 3 });
  });

  it('counts progress in items (not requests) with the true percentage', () => {
    const result = run('eval', ['tasks', '--model', model, '--tasks', 'story-names', '--builtin-items', '20']);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stderr.split('\n').filter((l) => l.includes('story-names'));
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) {
      const m = /: (\d+)\/(\d+) \((\d+)%\)$/.exec(line);
      expect(m, line).not.toBeNull();
      expect(Number(m![2])).toBe(20);
      expect(Number(m![3])).toBe(Math.floor((100 * Number(m![1])) / 20));
    }
    expectNoNoise(result.stderr);
  });
});
