/**
 * `andes-train sweep --config sweep.json [--jobs N]`: runs every grid point of a sweep as an ordinary run directory, in
 * worker processes (one per point, up to N at once), with a progress view of the grid; then fits and reports. Killed
 * and started again, it skips finished points and resumes the others from their checkpoints. `--emit k8s` writes a
 * Kubernetes Indexed Job instead of running anything.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomicSync } from '@andes/tensor/node';
import { ConfigError } from './config.js';
import { indexedJobYaml } from './k8s-job.js';
import {
  DEFAULT_SWEEP,
  planSweep,
  readSweepConfig,
  type SweepConfig,
  type SweepPoint,
  sweepPaths,
} from './sweep-config.js';
import { type PointView, SweepProgress } from './sweep-progress.js';
import { pointState, writeOrCheckManifest } from './sweep-state.js';
import { runSweepPoint, workerIndex } from './sweep-worker.js';

/** Options of `andes-train sweep`, as strings from the command line. */
export interface SweepCommandOptions {
  config?: string;
  jobs?: string;
  worker?: boolean;
  point?: string;
  emit?: string;
  image?: string;
  claim?: string;
  mountPath?: string;
  jobName?: string;
  report?: boolean;
}

const CLI = fileURLToPath(new URL('../bin/andes-train.js', import.meta.url));

function positiveInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1)
    throw new ConfigError(`flag ${flag}: expected an integer >= 1, got ${JSON.stringify(value)}`);
  return n;
}

/** Starts a worker process for one point; its output goes to `<runDir>/train.log`. */
function startWorker(configPath: string | undefined, point: SweepPoint): ChildProcess {
  mkdirSync(point.runDir, { recursive: true });
  const log = openSync(join(point.runDir, 'train.log'), 'a');
  // stdin is a pipe the worker watches: when this process dies (even by SIGKILL) the pipe closes and the worker
  // stops too, so a restarted sweep never trains a run directory twice at once.
  const child = spawn(
    process.execPath,
    [
      CLI,
      'sweep',
      ...(configPath === undefined ? [] : ['--config', configPath]),
      '--worker',
      '--point',
      String(point.index),
    ],
    {
      stdio: ['pipe', log, log],
      env: { ...process.env, ANDES_SWEEP_PARENT: '1' },
      // Its own process group: Ctrl-C reaches it once, forwarded by the sweep, however the sweep itself was started
      // (a terminal's group, or andes-train's launcher, whose CLI child has a group of its own).
      detached: true,
    },
  );
  closeSync(log);
  return child;
}

/**
 * Runs every point with at most `jobs` workers at once; returns the indices that failed and whether Ctrl-C stopped
 * the sweep. On Ctrl-C no new point starts; the running workers get the SIGINT forwarded, checkpoint and exit as
 * `pretrain` does, and the sweep waits for them.
 */
async function runPoints(
  configPath: string | undefined,
  sweep: SweepConfig,
  points: SweepPoint[],
  jobs: number,
): Promise<{ failed: number[]; interrupted: boolean }> {
  const views: PointView[] = [];
  for (const point of points) {
    const state = await pointState(point);
    views.push({ point, phase: state.status === 'done' ? 'done' : 'queued', state });
  }
  const progress = new SweepProgress(sweep.outDir);
  const queue = views.filter((v) => v.phase === 'queued');
  const running = new Set<Promise<void>>();
  const failed: number[] = [];
  const refresh = async () => {
    for (const view of views) if (view.phase === 'running') view.state = await pointState(view.point);
    progress.render(views);
  };
  const timer = setInterval(() => void refresh(), 1000);
  let interrupted = false;
  const workers = new Set<ChildProcess>();
  const onSigint = () => {
    interrupted = true;
    for (const view of queue.splice(0)) view.phase = 'queued';
    for (const worker of workers) worker.kill('SIGINT');
  };
  process.on('SIGINT', onSigint);
  try {
    progress.render(views);
    while (queue.length > 0 || running.size > 0) {
      while (queue.length > 0 && running.size < jobs) {
        const view = queue.shift()!;
        view.phase = 'running';
        progress.render(views);
        const child = startWorker(configPath, view.point);
        workers.add(child);
        const finished = new Promise<void>((resolve) => {
          child.on('exit', async (code) => {
            workers.delete(child);
            view.state = await pointState(view.point);
            if (code === 0 && view.state.status === 'done') view.phase = 'done';
            else if (interrupted) view.phase = 'queued';
            else {
              view.phase = 'failed';
              failed.push(view.point.index);
            }
            progress.render(views);
            resolve();
          });
        });
        const tracked = finished.then(() => {
          running.delete(tracked);
        });
        running.add(tracked);
      }
      await Promise.race(running);
    }
  } finally {
    clearInterval(timer);
    process.off('SIGINT', onSigint);
  }
  await refresh();
  return { failed, interrupted };
}

/** `andes-train sweep`. */
export async function runSweepCommand(options: SweepCommandOptions): Promise<void> {
  const sweep = options.config === undefined ? DEFAULT_SWEEP : readSweepConfig(options.config);
  const points = planSweep(sweep);
  if (options.worker) {
    if (process.env.ANDES_SWEEP_PARENT === '1') {
      // The parent's end of stdin closes when it dies: stop at once (checkpoints are written atomically).
      process.stdin.on('end', () => process.exit(137));
      process.stdin.resume();
    }
    await runSweepPoint(sweep, workerIndex(options.point, points.length));
    process.exit(process.exitCode ?? 0); // stdin keeps the loop alive
  }
  const paths = sweepPaths(sweep.outDir);
  const jobs = positiveInteger('--jobs', options.jobs, 1);
  // Every check before the first file is written: a refused command leaves nothing behind.
  let jobYaml: string | undefined;
  if (options.emit !== undefined) {
    if (options.emit !== 'k8s')
      throw new ConfigError(`flag --emit: expected "k8s", got ${JSON.stringify(options.emit)}`);
    if (options.config === undefined) throw new ConfigError('--emit k8s: give the sweep file with --config <file>');
    if (isAbsolute(sweep.outDir))
      throw new ConfigError(
        `--emit k8s: the sweep's outDir must be relative to the shared volume's root, got ${sweep.outDir}`,
      );
    jobYaml = indexedJobYaml({
      name: options.jobName ?? 'andes-sweep',
      completions: points.length,
      parallelism: jobs,
      image: options.image ?? 'andes:latest',
      claim: options.claim ?? 'andes-sweep',
      mountPath: options.mountPath ?? '/workspace',
      configPath: options.config,
      backoffLimitPerIndex: 3,
      backend: sweep.train.backend ?? 'auto',
    });
  }
  mkdirSync(sweep.outDir, { recursive: true });
  writeOrCheckManifest(paths.manifest, sweep, points);
  if (jobYaml !== undefined) {
    const file = join(sweep.outDir, 'k8s-job.yaml');
    writeFileAtomicSync(file, jobYaml);
    console.log(`wrote ${file}: an Indexed Job of ${points.length} points; then \`andes-train fit ${sweep.outDir}\``);
    return;
  }
  const { failed, interrupted } = await runPoints(options.config, sweep, points, jobs);
  if (interrupted) {
    console.log('interrupted: running points saved checkpoints; run the same command again to continue the sweep');
    process.exitCode = 130;
    return;
  }
  if (failed.length > 0) {
    const logs = failed.map((i) => join(points[i]!.runDir, 'train.log')).join(', ');
    console.error(`error: ${failed.length} point(s) failed (${failed.join(', ')}); see ${logs}`);
    process.exitCode = 1;
    return;
  }
  if (options.report !== false && points.length < 5) console.log('report skipped: a fit needs at least 5 runs');
  else if (options.report !== false) {
    const { writeScalingReport } = await import('./scaling-report.js');
    const { readSweepResults } = await import('./run-results.js');
    const { analyseScaling } = await import('./scaling-analysis.js');
    const analysis = analyseScaling(readSweepResults(points.map((p) => p.runDir)));
    const report = writeScalingReport(analysis, paths.report, {
      command: `andes-train sweep${options.config === undefined ? '' : ` --config ${options.config}`} --jobs ${jobs}`,
      title: `Scaling sweep: ${sweep.outDir}`,
    });
    console.log(`report: ${report}`);
  }
}
