import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMetrics, readRunArguments } from '@andes/train';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLI, runCli, startCli } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'andes-train-sweep-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Event {
  point: number;
  action: string;
  fromStep?: number;
}

function events(outDir: string): Event[] {
  const path = join(outDir, 'events.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Event);
}

/** Training steps logged by a run, in order. */
function loggedSteps(runDir: string): number[] {
  return readMetrics(join(runDir, 'metrics.jsonl'))
    .filter((r) => r.type === 'train')
    .map((r) => r.step);
}

describe('andes-train sweep', () => {
  it('resumes a SIGKILLed sweep: the interrupted run continues from its checkpoint, finished runs are skipped', async () => {
    const outDir = join(root, 'sweep');
    const config = join(root, 'sweep.json');
    // Two nano-derived sizes at one budget: d=32 (~25K parameters, 10 steps of 16 tokens) and d=64 (~142K, 2 steps).
    writeFileSync(
      config,
      JSON.stringify({
        outDir,
        basePreset: 'nano',
        widths: [32, 64],
        budgets: [2.4e7],
        perBudget: 2,
        train: {
          vocabSize: 300,
          tokenizerBytes: 20_000,
          batchSize: 1,
          seqLen: 16,
          warmupSteps: 2,
          evalBatches: 1,
          checkpointInterval: 2,
          backend: 'cpu',
          seed: 3,
        },
      }),
    );
    const first = startCli(['sweep', '--config', config, '--no-report']);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      first.on('exit', (_code, signal) => resolve(signal)),
    );
    const run0 = join(outDir, 'runs', 'c2.4e7-d32');
    const run1 = join(outDir, 'runs', 'c2.4e7-d64');
    // Kill the sweep (not its worker: the worker must notice and stop by itself) once point 0 has a checkpoint of step
    // 4 or later: older checkpoints are pruned as new ones land, so on a fast machine step 4's alone may come and go
    // between two polls (the sweep then finished before the kill).
    const checkpoints = join(run0, 'checkpoints');
    const hasCheckpoint = () =>
      existsSync(checkpoints) && readdirSync(checkpoints).some((name) => Number(/^step-(\d+)$/.exec(name)?.[1]) >= 4);
    const deadline = Date.now() + 60_000;
    while (!hasCheckpoint() && first.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const configInode = statSync(join(run0, 'config.json')).ino;
    // The orphaned worker stops: within seconds point 0 would otherwise finish and save its model.
    await new Promise((r) => setTimeout(r, 2000));
    expect(existsSync(join(run0, 'model')), 'the worker outlived its sweep').toBe(false);
    expect(existsSync(run1)).toBe(false);
    expect(events(outDir).map((e) => `${e.point}:${e.action}`)).toEqual(['0:start']);

    const second = runCli(['sweep', '--config', config, '--no-report']);
    expect(second.status, second.stderr).toBe(0);
    const resumed = events(outDir).slice(1);
    expect(resumed.map((e) => `${e.point}:${e.action}`)).toEqual(['0:resume', '0:done', '1:start', '1:done']);
    expect(resumed[0]!.fromStep).toBeGreaterThanOrEqual(4);
    // A run restarted from step 0 would have rewritten its config and lost its early metrics.
    expect(statSync(join(run0, 'config.json')).ino).toBe(configInode);
    expect(loggedSteps(run0)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(loggedSteps(run1)).toEqual([1, 2]);
    expect(second.stdout).toMatch(/10\/10 +done +val \d/);

    const third = runCli(['sweep', '--config', config, '--no-report']);
    expect(third.status, third.stderr).toBe(0);
    expect(
      events(outDir)
        .slice(5)
        .map((e) => `${e.point}:${e.action}`),
    ).toEqual([]);
    expect(loggedSteps(run0)).toHaveLength(10);

    // fit reads the sweep directory: N from each saved model, D and the final validation loss from its metrics.
    const results = readRunArguments([outDir]);
    expect(results.map((r) => [r.width, r.tokens])).toEqual([
      [32, 160],
      [64, 32],
    ]);
    for (const r of results) expect(r.loss).toBeGreaterThan(0);
  });

  it('on Ctrl-C lets the running point checkpoint, starts nothing new and exits 130', async () => {
    const outDir = join(root, 'ctrl-c');
    const config = join(root, 'ctrl-c.json');
    writeFileSync(
      config,
      JSON.stringify({
        outDir,
        basePreset: 'nano',
        widths: [32, 64],
        budgets: [4.8e7],
        perBudget: 2,
        train: { vocabSize: 300, tokenizerBytes: 20_000, batchSize: 1, seqLen: 16, evalBatches: 1, backend: 'cpu' },
      }),
    );
    // Its own process group, so the group's Ctrl-C reaches the sweep and its worker as a terminal's would.
    const child = spawn(process.execPath, [CLI, 'sweep', '--config', config, '--no-report'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const run0 = join(outDir, 'runs', 'c4.8e7-d32');
    const deadline = Date.now() + 60_000;
    while (child.exitCode === null && Date.now() < deadline) {
      if (existsSync(join(run0, 'metrics.jsonl')) && loggedSteps(run0).length >= 3) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited, stdout).toBe(130);
    expect(stdout).toContain('run the same command again to continue the sweep');
    expect(existsSync(join(run0, 'checkpoints'))).toBe(true);
    expect(existsSync(join(run0, 'model'))).toBe(false);
    expect(existsSync(join(outDir, 'runs', 'c4.8e7-d64'))).toBe(false);
  });

  it('writes a Kubernetes Indexed Job with one completion per grid point', () => {
    const config = join(root, 'k8s.json');
    writeFileSync(config, JSON.stringify({ outDir: 'k8s', basePreset: 'nano', budgets: [1e10, 1e11] }));
    const absolute = runCli(['sweep', '--config', config, '--emit', 'k8s'], root);
    expect(absolute.status).toBe(1);
    expect(absolute.stderr).toContain("the sweep file must be given relative to the shared volume's root");
    expect(absolute.stderr).not.toContain('    at '); // no stack trace for a user error
    expect(existsSync(join(root, 'k8s')), 'a refused command wrote files').toBe(false);
    const relative = runCli(['sweep', '--config', 'k8s.json', '--emit', 'k8s', '--jobs', '3', '--claim', 'runs'], root);
    expect(relative.status, relative.stderr).toBe(0);
    const job = parse(readFileSync(join(root, 'k8s', 'k8s-job.yaml'), 'utf8'));
    // Two budgets × the default three sizes; every pod runs one point from its completion index.
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 6, parallelism: 3 });
    expect(job.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe('runs');
    expect(JSON.parse(readFileSync(join(root, 'k8s', 'manifest.json'), 'utf8')).points).toHaveLength(6);
  });
});
