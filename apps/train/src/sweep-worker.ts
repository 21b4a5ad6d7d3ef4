/**
 * One point of a sweep, in this process: `andes-train sweep --config F --worker [--point I]` (the Kubernetes Indexed
 * Job takes I from JOB_COMPLETION_INDEX). A finished point is skipped, a point with a checkpoint resumes, any other
 * starts fresh; the sweep's shared tokenizer is trained first if no one has written it yet.
 *
 * @module
 */
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@andes/tensor/node';
import { ConfigError } from './config.js';
import { runPretrain, runResume } from './pretrain.js';
import { prepareTokenizer, resolveMixture } from './run-data.js';
import { planSweep, type SweepConfig, type SweepPoint, sweepPaths } from './sweep-config.js';
import { pointState } from './sweep-state.js';

/** One line of `<outDir>/events.jsonl`: what a worker did with its point (tests and post-mortems read it). */
export interface SweepEvent {
  point: number;
  id: string;
  action: 'start' | 'resume' | 'skip' | 'done';
  /** Checkpoint step a resume continues from. */
  fromStep?: number;
  time: string;
}

function logEvent(outDir: string, event: Omit<SweepEvent, 'time'>): void {
  appendFileSync(join(outDir, 'events.jsonl'), `${JSON.stringify({ ...event, time: new Date().toISOString() })}\n`);
}

/**
 * Trains the sweep's shared tokenizer (every run must tokenize alike for their losses to compare) unless it exists.
 * Written under a temporary name and renamed, so concurrent workers never see half a file; the training is
 * deterministic, so a race only wastes time.
 */
export async function ensureSweepTokenizer(point: SweepPoint): Promise<void> {
  const path = point.config.tokenizer;
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true });
  const tokenizer = await prepareTokenizer({ ...point.config, tokenizer: '' }, resolveMixture(point.config.data));
  if (typeof tokenizer.save !== 'function') throw new Error('sweep: the trained tokenizer cannot be saved');
  await tokenizer.save(path, writeFileAtomic);
}

/** The point a worker runs: `--point`, else the Indexed Job's JOB_COMPLETION_INDEX. */
export function workerIndex(option: string | undefined, count: number, env = process.env): number {
  const raw = option ?? env.JOB_COMPLETION_INDEX;
  if (raw === undefined) throw new ConfigError('sweep --worker: give --point <index> or set JOB_COMPLETION_INDEX');
  const index = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(index) || index < 0 || index >= count)
    throw new ConfigError(
      `sweep --worker: point index must be an integer in [0, ${count - 1}], got ${JSON.stringify(raw)}`,
    );
  return index;
}

/** Runs (or resumes, or skips) point `index` of `sweep` in this process. */
export async function runSweepPoint(sweep: SweepConfig, index: number): Promise<void> {
  const points = planSweep(sweep);
  const point = points[index]!;
  mkdirSync(sweepPaths(sweep.outDir).runs, { recursive: true });
  const state = await pointState(point);
  const event = { point: index, id: point.id };
  if (state.status === 'done') {
    logEvent(sweep.outDir, { ...event, action: 'skip' });
    console.log(`point ${index} (${point.id}) is already done`);
    return;
  }
  await ensureSweepTokenizer(point);
  if (state.status === 'partial') {
    logEvent(sweep.outDir, { ...event, action: 'resume', fromStep: state.checkpointStep });
    await runResume(point.runDir);
  } else {
    logEvent(sweep.outDir, { ...event, action: 'start' });
    await runPretrain(point.config);
  }
  if (process.exitCode === undefined || process.exitCode === 0) logEvent(sweep.outDir, { ...event, action: 'done' });
}
