/**
 * Scaling-law inputs from finished run directories wherever they ran (this machine, a Kubernetes volume): parameters
 * N from the saved model's config, tokens D and the final validation loss from metrics.jsonl; or `params,tokens,loss`
 * rows of a CSV file.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { countParameters, llamaConfig } from '@andes/nn';
import type { LossPoint } from '@andes/scaling';
import { ConfigError } from './config.js';
import { readMetrics } from './metrics.js';

/** A finished run: its scaling point and its training-loss curve. */
export interface RunResult extends LossPoint {
  /** Run directory (or `file:line` for CSV rows). */
  source: string;
  /** Hidden size, when known. */
  width?: number;
  /** Training loss against tokens seen, `[tokens, loss]`. */
  curve: [number, number][];
}

/** Reads one finished run directory. */
export function readRunResult(dir: string): RunResult {
  const modelConfig = join(dir, 'model', 'config.json');
  const metricsPath = join(dir, 'metrics.jsonl');
  if (!existsSync(metricsPath)) throw new ConfigError(`fit: ${dir} is not a run directory (no metrics.jsonl)`);
  if (!existsSync(modelConfig))
    throw new ConfigError(`fit: run ${dir} has not finished (no model/config.json); resume it first`);
  let config: ReturnType<typeof llamaConfig>;
  try {
    config = llamaConfig(JSON.parse(readFileSync(modelConfig, 'utf8')));
  } catch (err) {
    throw new ConfigError(`fit: ${modelConfig}: ${(err as Error).message}`);
  }
  const curve: [number, number][] = [];
  let tokens = 0;
  let lastStep = 0;
  let loss: number | undefined;
  for (const r of readMetrics(metricsPath)) {
    if (r.type === 'train') {
      curve.push([r.tokens, r.loss]);
      tokens = r.tokens;
      lastStep = r.step;
    } else if (r.type === 'eval') loss = r.step >= lastStep ? r.valLoss : loss;
  }
  if (loss === undefined || tokens === 0)
    throw new ConfigError(`fit: ${metricsPath} has no validation loss at the final step ${lastStep}`);
  return { source: dir, params: countParameters(config).total, tokens, loss, width: config.hidden_size, curve };
}

/** Reads the run directories of a sweep's points (all must have finished). */
export function readSweepResults(dirs: readonly string[]): RunResult[] {
  return dirs.map(readRunResult);
}

/**
 * Expands `fit` arguments: a run directory stands for itself, a sweep directory (with `runs/`) for every run in it.
 * Unfinished runs of a sweep directory are skipped with a note on stderr.
 */
export function readRunArguments(paths: readonly string[], warn = (line: string) => console.error(line)): RunResult[] {
  const results: RunResult[] = [];
  for (const path of paths) {
    if (!existsSync(path) || !statSync(path).isDirectory()) throw new ConfigError(`fit: no such directory ${path}`);
    const runs = join(path, 'runs');
    if (!existsSync(join(path, 'metrics.jsonl')) && existsSync(runs)) {
      for (const name of readdirSync(runs).sort()) {
        const dir = join(runs, name);
        if (!statSync(dir).isDirectory()) continue;
        try {
          results.push(readRunResult(dir));
        } catch (err) {
          warn(`fit: skipping ${dir}: ${(err as Error).message.replace(/^fit: /, '')}`);
        }
      }
    } else results.push(readRunResult(path));
  }
  return results;
}

/**
 * Reads `params,tokens,loss` rows (a header row naming those columns, in any order; `#` comments and blank lines
 * skipped). Errors name the file, line and column.
 */
export function readPointsCsv(path: string): RunResult[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`flag --points: cannot read ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
  const rows = text
    .split(/\r?\n/)
    .map((line, i) => ({ line: i + 1, cells: line.split(',').map((c) => c.trim()) }))
    .filter((r) => r.cells.join('') !== '' && !r.cells[0]!.startsWith('#'));
  const header = rows.shift();
  const columns = ['params', 'tokens', 'loss'].map((name) => header?.cells.indexOf(name) ?? -1);
  if (header === undefined || columns.some((c) => c < 0))
    throw new ConfigError(`${path}:${header?.line ?? 1}: expected a header row with columns params,tokens,loss`);
  return rows.map(({ line, cells }) => {
    const [params, tokens, loss] = columns.map((c, k) => {
      const value = Number(cells[c!]);
      if (cells[c!] === undefined || cells[c!] === '' || !(value > 0) || !Number.isFinite(value))
        throw new ConfigError(
          `${path}:${line}: column ${['params', 'tokens', 'loss'][k]}: expected a positive number, got ${JSON.stringify(cells[c!] ?? '')}`,
        );
      return value;
    }) as [number, number, number];
    return { source: `${path}:${line}`, params, tokens, loss, curve: [] };
  });
}
