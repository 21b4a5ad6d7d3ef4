import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The committed bin shim; tests run the CLI exactly as a user does. */
export const CLI = fileURLToPath(new URL('../../apps/train/bin/andes-train.js', import.meta.url));

/** Runs the CLI to completion. */
export function runCli(args: string[], cwd?: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    timeout: 240_000,
  });
}

/** Starts the CLI in the background. */
export function startCli(args: string[]) {
  return spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
}
