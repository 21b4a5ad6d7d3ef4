/**
 * Runs the real bins as a new user does (`node apps/<app>/bin/<bin>.js …` in a scratch directory) and checks what
 * a user error must look like: one line `andes-<tool>: …`, no stack trace, no Dawn warning.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The committed bin shims. */
export const BINS = {
  train: fileURLToPath(new URL('../../apps/train/bin/andes-train.js', import.meta.url)),
  serve: fileURLToPath(new URL('../../apps/serve/bin/andes-serve.js', import.meta.url)),
  eval: fileURLToPath(new URL('../../apps/eval/bin/andes-eval.js', import.meta.url)),
} as const;

/** Options of {@link run}. */
export interface RunOptions {
  cwd?: string;
  /** Backend: `cpu` (default; the backend does not matter) or `auto` (whatever the machine has, Dawn included). */
  backend?: 'cpu' | 'auto';
  timeoutMs?: number;
}

/** Runs `andes-<app> args…` to completion. */
export function run(app: keyof typeof BINS, args: string[], options: RunOptions = {}): SpawnSyncReturns<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
  delete env.DEBUG;
  if ((options.backend ?? 'cpu') === 'cpu') env.ANDES_BACKEND = 'cpu';
  else delete env.ANDES_BACKEND;
  return spawnSync(process.execPath, [BINS[app], ...args], {
    cwd: options.cwd,
    encoding: 'utf8',
    env,
    timeout: options.timeoutMs ?? 60_000,
  });
}

/** No stack trace and no Dawn warning anywhere in `text`. */
export function expectNoNoise(text: string): void {
  expect(text).not.toMatch(/^\s+at /m);
  expect(text).not.toMatch(/Warning: max/);
  expect(text).not.toMatch(/node:internal|Error: .*\n\s+at/);
}

/**
 * Expects a failed run whose stderr is exactly one line `andes-<app>: …` matching `message`, with no stack trace or
 * Dawn warning on either stream.
 */
export function expectOneLineError(result: SpawnSyncReturns<string>, app: keyof typeof BINS, message: RegExp): void {
  expect(result.error, 'the CLI did not finish in time').toBeUndefined();
  expect(result.status, result.stderr).toBe(1);
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^andes-${app}: `));
  expect(lines[0]).toMatch(message);
  expectNoNoise(result.stderr);
  expectNoNoise(result.stdout);
}
