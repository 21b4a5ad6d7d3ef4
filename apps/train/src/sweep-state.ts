/**
 * What a sweep knows on disk: its manifest (the planned points, written once) and each point's state, read from its
 * ordinary run directory — so a sweep resumes after a kill, and a sweep that ran elsewhere (Kubernetes) reads the
 * same way.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { latestCheckpoint } from '@andes/checkpoint/node';
import { writeFileAtomicSync } from '@andes/tensor/node';
import { ConfigError } from './config.js';
import { readMetrics } from './metrics.js';
import type { SweepConfig, SweepPoint } from './sweep-config.js';

/** A point's state on disk. */
export interface PointState {
  /** `done`: trained and saved; `partial`: has a checkpoint to resume; `fresh`: nothing usable yet. */
  status: 'done' | 'partial' | 'fresh';
  /** Step of the latest checkpoint (0 when none). */
  checkpointStep: number;
  /** Last logged training step (may run ahead of the checkpoint). */
  loggedStep: number;
  /** Last logged training loss. */
  trainLoss?: number;
  /** Final validation loss, when done. */
  valLoss?: number;
}

/** Reads a point's state from its run directory. */
export async function pointState(point: Pick<SweepPoint, 'runDir' | 'steps'>): Promise<PointState> {
  const checkpoint = existsSync(point.runDir) ? await latestCheckpoint(point.runDir) : null;
  const checkpointStep = checkpoint === null ? 0 : Number(/(\d+)$/.exec(basename(checkpoint))?.[1] ?? 0);
  const state: PointState = { status: 'fresh', checkpointStep, loggedStep: 0 };
  const metricsPath = join(point.runDir, 'metrics.jsonl');
  if (existsSync(metricsPath)) {
    for (const r of readMetrics(metricsPath)) {
      if (r.type === 'train') {
        state.loggedStep = r.step;
        state.trainLoss = r.loss;
      } else if (r.type === 'eval' && r.step >= point.steps) state.valLoss = r.valLoss;
    }
  }
  const saved = existsSync(join(point.runDir, 'model', 'model.safetensors'));
  if (saved && checkpointStep >= point.steps && state.valLoss !== undefined) state.status = 'done';
  else if (checkpointStep > 0) state.status = 'partial';
  return state;
}

/** The manifest: the sweep file as resolved and its points, in completion-index order. */
export interface SweepManifest {
  version: 1;
  sweep: SweepConfig;
  points: { index: number; id: string; params: number; tokens: number; flops: number; steps: number }[];
}

/**
 * Writes the manifest, or checks an existing one against the plan: a sweep directory belongs to one grid, and a
 * changed sweep file would silently mix runs of two grids. A grid may grow at its end (a larger budget appended keeps
 * every earlier point's index and run), and then the manifest is rewritten.
 */
export function writeOrCheckManifest(path: string, sweep: SweepConfig, points: readonly SweepPoint[]): void {
  const manifest: SweepManifest = {
    version: 1,
    sweep,
    points: points.map((p) => ({
      index: p.index,
      id: p.id,
      params: p.model.params,
      tokens: p.tokens,
      flops: p.flops,
      steps: p.steps,
    })),
  };
  if (existsSync(path)) {
    const existing = JSON.parse(readFileSync(path, 'utf8')) as SweepManifest;
    const prefix = manifest.points.slice(0, existing.points.length);
    if (JSON.stringify(existing.points) !== JSON.stringify(prefix))
      throw new ConfigError(
        `sweep: ${path} holds a different grid (the sweep file changed since it was started); ` +
          'use a new outDir or delete the old sweep directory',
      );
    if (existing.points.length === manifest.points.length) return;
  }
  writeFileAtomicSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
}
