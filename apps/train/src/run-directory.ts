/**
 * The layout of a run directory and its set-up for a fresh run or a resume.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from '@andes/tensor/node';
import { ConfigError, parseConfigObject, resolveConfig, type TrainConfig } from './config.js';

/** Paths inside a run directory. */
export interface RunPaths {
  root: string;
  /** The resolved config (what `resume` reads). */
  config: string;
  /** Metrics JSONL. */
  metrics: string;
  /** Loss chart. */
  chart: string;
  /** The run's tokenizer (SentencePiece model). */
  tokenizer: string;
  /** Training checkpoints (managed by @andes/checkpoint under `<root>/checkpoints`). */
  checkpoints: string;
  /** The final model in Hugging Face layout. */
  model: string;
}

/** The paths of run directory `root`. */
export function runPaths(root: string): RunPaths {
  return {
    root,
    config: join(root, 'config.json'),
    metrics: join(root, 'metrics.jsonl'),
    chart: join(root, 'loss.svg'),
    tokenizer: join(root, 'tokenizer.model'),
    checkpoints: join(root, 'checkpoints'),
    model: join(root, 'model'),
  };
}

/** The artifacts of an earlier run found in `root` (its config, metrics, chart, checkpoints, model, tokenizer). */
export function earlierRunArtifacts(root: string): string[] {
  const paths = runPaths(root);
  return [paths.config, paths.metrics, paths.chart, paths.checkpoints, paths.model, paths.tokenizer].filter((p) =>
    existsSync(p),
  );
}

/**
 * Refuses to start a run where an earlier one lives, unless `overwrite`: an earlier run's checkpoints and metrics
 * are work, and re-running a command must not delete them silently. The default run (`npm start`) is refused too
 * rather than moved to a fresh `runs/default-2`: `npm run serve`, `andes-eval` and the README all name
 * `runs/default`, and a silently numbered run would leave them on the old model.
 */
export function checkRunDirectoryFree(root: string, shownAs: string, overwrite: boolean): void {
  if (overwrite || earlierRunArtifacts(root).length === 0) return;
  throw new ConfigError(
    `${shownAs} already holds a run`,
    `continue it with \`andes-train resume ${shownAs}\`, replace it with --overwrite, or pick another --out-dir`,
  );
}

/**
 * Prepares `root` for a fresh run: creates it, removes the artifacts of an earlier run there (metrics, chart,
 * checkpoints, model, tokenizer) so they cannot mix with the new run's, and writes the config. Callers check
 * {@link checkRunDirectoryFree} first.
 */
export function startFreshRun(root: string, config: TrainConfig): RunPaths {
  const paths = runPaths(root);
  mkdirSync(root, { recursive: true });
  for (const path of [paths.metrics, paths.chart, paths.checkpoints, paths.model, paths.tokenizer])
    rmSync(path, { recursive: true, force: true });
  writeFileAtomicSync(paths.config, `${JSON.stringify(config, null, 2)}\n`);
  return paths;
}

/** Reads the config a run directory was started with. */
export function readRunConfig(root: string): TrainConfig {
  const paths = runPaths(root);
  if (
    ['model.safetensors', 'model.safetensors.index.json', 'generation_config.json'].some((f) =>
      existsSync(join(root, f)),
    )
  )
    throw new ConfigError(
      `resume: ${JSON.stringify(root)} is a model directory, not a run directory`,
      `pass the run directory that holds it, e.g. ${JSON.stringify(dirname(root))}`,
    );
  if (!existsSync(paths.config))
    throw new ConfigError(
      `resume: ${JSON.stringify(root)} is not a run directory (no config.json)`,
      'pass the --out-dir of a pretrain run, e.g. runs/default',
    );
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(paths.config, 'utf8'));
  } catch (err) {
    throw new ConfigError(`resume: ${paths.config} is not valid JSON: ${(err as Error).message}`);
  }
  return resolveConfig(parseConfigObject(json, `config ${paths.config}`));
}
