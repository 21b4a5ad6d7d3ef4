import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirectoryAtomic, writeFileAtomic } from '@andes/tensor/node';
import type { HostTensor } from './dtypes.js';
import { type NamedTensors, toHostTensors } from './host-tensors.js';
import { readVerifiedFiles, writeManifest } from './manifest.js';
import { decodeSafetensors, writeSafetensors } from './safetensors.js';

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Everything needed to continue training exactly where it stopped. */
export interface TrainingCheckpoint {
  /** Optimizer steps completed. */
  step: number;
  /** Model parameters by name (e.g. `model.stateDict()`), saved as `model.safetensors`. */
  model: NamedTensors;
  /** Optimizer state: named arrays (e.g. AdamW moments `exp_avg.<param>`) and JSON (step counts, hyper-parameters). */
  optimizer?: { tensors?: NamedTensors; state?: JsonValue };
  /** Learning-rate schedule state. */
  scheduler?: JsonValue;
  /** Data loader position (`loader.state()` of `@andes/data`). */
  dataLoader?: JsonValue;
  /** Random generator state(s). */
  rng?: JsonValue;
  /** Metrics at this step; `valLoss` (nats/token) picks the best checkpoint to keep. */
  metrics?: { valLoss?: number; [name: string]: number | undefined };
  /** Anything else the trainer wants back (config, wall time, …). */
  extra?: JsonValue;
}

/** A checkpoint as loaded: tensors in host memory, JSON as saved. */
export interface LoadedTrainingCheckpoint {
  /** Directory it was loaded from. */
  dir: string;
  /** Optimizer steps completed. */
  step: number;
  /** Model parameters (F32 host arrays as saved; pass to `model.loadStateDict`). */
  model: Map<string, HostTensor>;
  /** Optimizer arrays and JSON. */
  optimizer: { tensors: Map<string, HostTensor>; state: JsonValue | undefined };
  /** See {@link TrainingCheckpoint.scheduler}. */
  scheduler: JsonValue | undefined;
  /** See {@link TrainingCheckpoint.dataLoader}. */
  dataLoader: JsonValue | undefined;
  /** See {@link TrainingCheckpoint.rng}. */
  rng: JsonValue | undefined;
  /** See {@link TrainingCheckpoint.metrics}. */
  metrics: Record<string, number>;
  /** See {@link TrainingCheckpoint.extra}. */
  extra: JsonValue | undefined;
}

/** Retention policy of {@link saveTrainingCheckpoint}. */
export interface RetentionOptions {
  /** Keep the newest N checkpoints (by step); default 3. */
  keepLast?: number;
  /** Also keep the checkpoint with the lowest `metrics.valLoss`; default true. */
  keepBest?: boolean;
}

/** A checkpoint directory found in a run. */
export interface CheckpointInfo {
  /** Absolute or run-relative directory path. */
  dir: string;
  /** Step encoded in its name. */
  step: number;
}

const stepDir = /^step-(\d+)$/;

/** Name of the checkpoint directory of `step`: `step-000123` (zero-padded so names sort by step). */
export function checkpointDirName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/**
 * Saves a training checkpoint to `runDir/checkpoints/step-NNNNNN/`: `model.safetensors`,
 * `optimizer.safetensors`, `state.json` (step, JSON states, metrics) and `manifest.json` (SHA-256 of
 * each). The directory is built under a temporary name and renamed into place, so a crash leaves
 * either no checkpoint or a complete one. Then applies the retention policy.
 *
 * @returns the checkpoint directory.
 */
export async function saveTrainingCheckpoint(
  runDir: string,
  checkpoint: TrainingCheckpoint,
  retention: RetentionOptions = {},
): Promise<string> {
  if (!Number.isSafeInteger(checkpoint.step) || checkpoint.step < 0) {
    throw new Error(`saveTrainingCheckpoint: step must be a non-negative integer, got ${checkpoint.step}`);
  }
  // Read tensors back from the device before touching the disk, so a failure writes nothing.
  const model = await toHostTensors(checkpoint.model);
  const optimizerTensors = await toHostTensors(checkpoint.optimizer?.tensors ?? new Map());
  const state = {
    version: 1,
    step: checkpoint.step,
    optimizer: checkpoint.optimizer?.state ?? null,
    scheduler: checkpoint.scheduler ?? null,
    dataLoader: checkpoint.dataLoader ?? null,
    rng: checkpoint.rng ?? null,
    metrics: checkpoint.metrics ?? {},
    extra: checkpoint.extra ?? null,
    savedAt: new Date().toISOString(),
  };
  const dir = join(runDir, 'checkpoints', checkpointDirName(checkpoint.step));
  await writeDirectoryAtomic(dir, async (tmp) => {
    await writeSafetensors(join(tmp, 'model.safetensors'), model, { format: 'pt' });
    await writeSafetensors(join(tmp, 'optimizer.safetensors'), optimizerTensors);
    await writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state, null, 2) + '\n');
    await writeManifest(tmp, ['model.safetensors', 'optimizer.safetensors', 'state.json']);
  });
  await applyRetention(runDir, retention);
  return dir;
}

/** The run's checkpoints (complete ones only), oldest first. */
export async function listCheckpoints(runDir: string): Promise<CheckpointInfo[]> {
  const root = join(runDir, 'checkpoints');
  const names = await readdir(root).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  return names
    .map((name) => ({ name, match: stepDir.exec(name) }))
    .filter((x) => x.match !== null)
    .map((x) => ({ dir: join(root, x.name), step: Number(x.match![1]) }))
    .sort((a, b) => a.step - b.step);
}

/** Directory of the newest checkpoint of a run, or null when there is none. */
export async function latestCheckpoint(runDir: string): Promise<string | null> {
  return (await listCheckpoints(runDir)).at(-1)?.dir ?? null;
}

/**
 * Loads a training checkpoint, verifying every file's size and SHA-256 against the manifest first:
 * a truncated or corrupted file fails with an error naming it, and nothing is returned half-loaded.
 */
export async function loadTrainingCheckpoint(dir: string): Promise<LoadedTrainingCheckpoint> {
  const files = await readVerifiedFiles(dir);
  for (const required of ['model.safetensors', 'optimizer.safetensors', 'state.json']) {
    if (!files.has(required)) throw new Error(`checkpoint ${dir}: the manifest does not list ${required}`);
  }
  const state = JSON.parse(new TextDecoder().decode(files.get('state.json'))) as Record<string, JsonValue>;
  if (state.version !== 1 || typeof state.step !== 'number') {
    throw new Error(`checkpoint ${dir}: state.json is not a version 1 training state`);
  }
  const model = decodeSafetensors(files.get('model.safetensors')!, join(dir, 'model.safetensors')).tensors;
  const optimizer = decodeSafetensors(files.get('optimizer.safetensors')!, join(dir, 'optimizer.safetensors')).tensors;
  const orUndefined = (v: JsonValue | undefined) => (v === null ? undefined : v);
  return {
    dir,
    step: state.step,
    model,
    optimizer: { tensors: optimizer, state: orUndefined(state.optimizer) },
    scheduler: orUndefined(state.scheduler),
    dataLoader: orUndefined(state.dataLoader),
    rng: orUndefined(state.rng),
    metrics: (state.metrics ?? {}) as Record<string, number>,
    extra: orUndefined(state.extra),
  };
}

/**
 * Loads the newest checkpoint of a run that passes verification, falling back to older ones when a newer
 * one is truncated or corrupted (each skipped directory and its error go to `onSkip`). Null when the run
 * has no loadable checkpoint.
 */
export async function loadLatestTrainingCheckpoint(
  runDir: string,
  onSkip: (dir: string, error: Error) => void = () => {},
): Promise<LoadedTrainingCheckpoint | null> {
  for (const { dir } of (await listCheckpoints(runDir)).reverse()) {
    try {
      return await loadTrainingCheckpoint(dir);
    } catch (e) {
      onSkip(dir, e as Error);
    }
  }
  return null;
}

async function readValLoss(dir: string): Promise<number | undefined> {
  try {
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { metrics?: { valLoss?: unknown } };
    const v = state.metrics?.valLoss;
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Deletes checkpoints outside the policy: keeps the newest `keepLast` and, with `keepBest`, the one with
 * the lowest validation loss (ties: the earliest). Also removes temporary directories left by crashed saves.
 */
export async function applyRetention(runDir: string, options: RetentionOptions = {}): Promise<void> {
  const keepLast = options.keepLast ?? 3;
  if (!Number.isInteger(keepLast) || keepLast < 1)
    throw new Error(`applyRetention: keepLast must be ≥ 1, got ${keepLast}`);
  const all = await listCheckpoints(runDir);
  const keep = new Set(all.slice(-keepLast).map((c) => c.dir));
  if (options.keepBest ?? true) {
    let best: { dir: string; loss: number } | undefined;
    for (const c of all) {
      const loss = await readValLoss(c.dir);
      if (loss !== undefined && (best === undefined || loss < best.loss)) best = { dir: c.dir, loss };
    }
    if (best) keep.add(best.dir);
  }
  for (const c of all) if (!keep.has(c.dir)) await rm(c.dir, { recursive: true, force: true });
  const root = join(runDir, 'checkpoints');
  for (const name of await readdir(root)) {
    // Temp names carry this process's pid; only remove those of other (crashed) processes.
    const m = /^\.step-\d+\.(\d+)\.[0-9a-f]+\.tmp(\.old)?$/.exec(name);
    if (m && Number(m[1]) !== process.pid) await rm(join(root, name), { recursive: true, force: true });
  }
}
