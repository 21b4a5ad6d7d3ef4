#!/usr/bin/env node
// Runs the README's quick start as a bare machine does — no Vulkan driver, so the CPU backend (ANDES_BACKEND=cpu) —
// in a fresh temporary directory, then `andes-eval tasks` on the model it trained, and prints the figures the README
// quotes. `npm run quickstart:report` (after `npm run build`); `--backend webgpu` reports the lavapipe/GPU figures.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const backendFlag = process.argv.indexOf('--backend');
const backend = backendFlag >= 0 ? process.argv[backendFlag + 1] : 'cpu';
if (backend !== 'cpu' && backend !== 'webgpu') {
  console.error(`quickstart-report: --backend must be cpu or webgpu, got ${JSON.stringify(backend)}`);
  process.exit(1);
}
const keep = process.argv.includes('--keep');
const env = { ...process.env, ANDES_BACKEND: backend, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
const work = mkdtempSync(join(tmpdir(), 'andes-quickstart-'));

/** Runs one bin in the scratch directory, echoing its output as it comes; exits on failure. */
function run(bin, args) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [join(root, bin), ...args], {
    cwd: work,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.stderr.write(result.stdout ?? '');
  if (result.status !== 0) {
    console.error(`quickstart-report: ${bin} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
    process.exit(1);
  }
  return { stdout: result.stdout, seconds: (performance.now() - started) / 1000 };
}

const train = run('apps/train/bin/andes-train.js', []);
const evalRun = run('apps/eval/bin/andes-eval.js', ['tasks', '--model', 'runs/default/model']);
const pick = (re) => train.stdout.match(re)?.[1] ?? '?';
const lines = [
  `backend: ${backend}${backend === 'cpu' ? ' (what a bare machine without a Vulkan driver runs)' : ''}`,
  `train: ${pick(/done: (.*)/)} (wall ${train.seconds.toFixed(0)} s)`,
  `validation loss: ${pick(/validation loss: +([\d.]+)/)} nats/token; unigram cross-entropy ${pick(/unigram cross-entropy: +([\d.]+)/)}`,
  `first sample: ${pick(/sample: (.*)/)}`,
  '',
  evalRun.stdout.trim(),
];
// The default run stops at a 270 s time budget: on a loaded machine it ends early, and its figures are not the
// quick start's (they depend on how far it got). Say so rather than print them as if they were.
const cut = train.stdout.match(/time budget of .* reached at step (\d+) of (\d+)/);
if (cut)
  lines.unshift(
    `warning: the time budget stopped training at step ${cut[1]} of ${cut[2]}; this machine was too slow or busy, ` +
      'so these figures are not comparable: re-run on a quiet machine',
  );
console.log(lines.join('\n'));
if (!keep) rmSync(work, { recursive: true, force: true });
else console.log(`\nrun kept in ${work}`);
