/**
 * What each bin shim calls: runs the compiled CLI so that Dawn's adapter warnings never reach the terminal (see
 * {@link filterDawnWarnings}), while the CLI still sees a terminal where the user has one and gets signals once.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { isatty, WriteStream } from 'node:tty';
import { filterDawnWarnings } from './dawn-warnings.js';

/** Set in the child: it is the CLI itself, and names the descriptor of the user's real stderr when it is a TTY. */
const CHILD_ENV = 'ANDES_CLI_STDERR_FD';

/** Flags that never touch a GPU: handled in-process, with no second process. */
const NO_GPU_FLAGS = new Set(['--help', '-h', '--version', '-V']);

/**
 * Runs the CLI module `entry` (e.g. `new URL('../dist/cli.js', import.meta.url)`) for the bin being executed.
 *
 * The bin re-runs itself as a child whose descriptor 2 is a pipe; this process copies that pipe to its own stderr
 * without Dawn's two limit warnings, forwards SIGINT/SIGTERM/SIGHUP exactly once (the child has its own process
 * group, so Ctrl-C reaches it only through here) and exits with the child's status. When stderr is a terminal, the
 * child's own messages bypass the pipe through descriptor 3 (the same terminal), so progress bars still draw.
 * Runs that cannot load Dawn ({@link mayLoadDawn}) run the CLI in this process.
 */
export async function launchCli(entry: URL): Promise<void> {
  const childFd = process.env[CHILD_ENV];
  const args = process.argv.slice(2);
  if (childFd !== undefined) {
    // Not inherited further: a process this CLI starts is not the launcher's child and has no descriptor 3.
    delete process.env[CHILD_ENV];
    if (childFd !== '') useStderr(Number(childFd));
    dieWithParent();
    await import(entry.href);
    return;
  }
  if (!mayLoadDawn(args, process.env)) {
    await import(entry.href);
    return;
  }
  const terminal = isatty(2);
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
    stdio: ['inherit', 'inherit', 'pipe', ...(terminal ? [2] : [])],
    env: { ...process.env, [CHILD_ENV]: terminal ? '3' : '' },
    detached: true,
  });
  const forward = (signal: NodeJS.Signals) => () => {
    child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const handlers = signals.map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const copied = filterDawnWarnings(child.stderr!, process.stderr);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  });
  await copied;
  for (const [s, h] of handlers) process.off(s, h);
  if (signal !== null) process.kill(process.pid, signal);
  process.exit(code ?? 1);
}

/**
 * Whether a run with these arguments may load Dawn: not for `--help`/`--version`, not when the CPU backend is asked
 * for (`ANDES_BACKEND=cpu`, `--backend cpu`), and not when `ANDES_DAWN_WARNINGS=1` asks to see everything.
 */
export function mayLoadDawn(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (env.ANDES_DAWN_WARNINGS === '1' || env.ANDES_BACKEND === 'cpu') return false;
  if (args.some((a) => NO_GPU_FLAGS.has(a)) || args[0] === 'help') return false;
  const backend = args.indexOf('--backend');
  return !((backend >= 0 && args[backend + 1] === 'cpu') || args.includes('--backend=cpu'));
}

/**
 * A parent killed outright (SIGKILL) cannot forward anything: the child notices that it has been re-parented and
 * ends the same way, instead of training on as an orphan next to whatever the user starts next.
 */
function dieWithParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  }, 20).unref();
}

/** Points `process.stderr` (and so `console.error`) at descriptor `fd`, a terminal inherited from the parent. */
function useStderr(fd: number): void {
  const stream: Writable = isatty(fd) ? new WriteStream(fd) : process.stderr;
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => stream });
}
