/**
 * Issue 10, items 1 and 2: re-running never deletes work, `resume` says what to pass and leaves finished runs alone,
 * and `sample` on a damaged model directory fails with one line.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoNoise, expectOneLineError, run } from './run-cli.js';

const dir = mkdtempIn('andes-first-hour-runs-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mkdtempIn(prefix: string): string {
  const path = join(tmpdir(), `${prefix}${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(path, { recursive: true });
  return path;
}

const QUICK = [
  ...['--steps', '2', '--eval-interval', '0', '--sample-interval', '0', '--checkpoint-interval', '0'],
  ...['--sample-tokens', '4', '--prompt', 'Once', '--eval-batches', '1', '--batch-size', '2', '--seq-len', '32'],
  ...['--tokenizer-bytes', '20000', '--vocab-size', '300'],
];

/** Every file under `root` with its size and modification time: what "nothing was written" means. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const info = statSync(path);
      if (info.isDirectory()) walk(path);
      else out[path.slice(root.length)] = `${info.size}@${info.mtimeMs}`;
    }
  };
  walk(root);
  return out;
}

beforeAll(() => {
  const result = run('train', ['pretrain', ...QUICK, '--out-dir', 'run'], { cwd: dir });
  expect(result.status, result.stderr).toBe(0);
});

describe('re-running into an existing run directory', () => {
  it('pretrain refuses a directory holding a run, naming resume and --overwrite, and deletes nothing', () => {
    const before = snapshot(join(dir, 'run'));
    expectOneLineError(
      run('train', ['pretrain', ...QUICK, '--out-dir', 'run'], { cwd: dir }),
      'train',
      /run already holds a run \(continue it with `andes-train resume run`, replace it with --overwrite/,
    );
    expect(snapshot(join(dir, 'run'))).toEqual(before);
  });

  it('the default run (npm start) refuses to wipe runs/default', () => {
    const cwd = join(dir, 'fresh-clone');
    mkdirSync(join(cwd, 'runs'), { recursive: true });
    cpSync(join(dir, 'run'), join(cwd, 'runs', 'default'), { recursive: true });
    const before = snapshot(join(cwd, 'runs', 'default'));
    expectOneLineError(run('train', [], { cwd }), 'train', /runs\/default already holds a run .*--overwrite/);
    expect(snapshot(join(cwd, 'runs', 'default'))).toEqual(before);
  });

  it('--overwrite replaces the earlier run', () => {
    const before = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8');
    const result = run('train', ['pretrain', ...QUICK, '--seed', '7', '--overwrite', '--out-dir', 'run'], { cwd: dir });
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8')).not.toBe(before);
    expect(JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8')).seed).toBe(7);
  });
});

describe('resume and sample on the wrong directory', () => {
  it('resume of a model directory says to pass the run directory', () => {
    expectOneLineError(
      run('train', ['resume', 'run/model'], { cwd: dir }),
      'train',
      /"run\/model" is a model directory, not a run directory \(pass the run directory that holds it, e\.g\. "run"\)/,
    );
  });

  it('resume of a finished run says so and writes nothing', () => {
    const before = snapshot(join(dir, 'run'));
    const result = run('train', ['resume', 'run'], { cwd: dir });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/run is finished \(step 2 of 2\); nothing to do/);
    expectNoNoise(result.stdout + result.stderr);
    expect(snapshot(join(dir, 'run'))).toEqual(before);
  });

  it('sample on a damaged model directory fails with one line naming the file', () => {
    cpSync(join(dir, 'run', 'model'), join(dir, 'damaged'), { recursive: true });
    const weights = join(dir, 'damaged', 'model.safetensors');
    writeFileSync(weights, readFileSync(weights).subarray(0, 100));
    expectOneLineError(
      run('train', ['sample', 'damaged'], { cwd: dir }),
      'train',
      /sample: cannot load the model in .*damaged: safetensors .*model\.safetensors: .*\(the directory is damaged/,
    );
    writeFileSync(join(dir, 'damaged', 'config.json'), '{ "hidden_size": ');
    expectOneLineError(
      run('train', ['sample', 'damaged'], { cwd: dir }),
      'train',
      /cannot load the model in .*damaged: .*config\.json is not valid JSON/,
    );
  });
});
