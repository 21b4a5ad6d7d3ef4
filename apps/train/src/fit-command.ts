/**
 * `andes-train fit RUNS...` or `andes-train fit --points FILE.csv`: fits L(N, D) to finished runs (run directories or
 * sweep directories, wherever they ran) and prints it beside Chinchilla's, with bootstrap intervals, the IsoFLOP
 * minima and N*(C), D*(C); `--json` prints `{ E, A, B, alpha, beta, ci, … }`; `--report DIR` writes the Markdown
 * report with its charts.
 *
 * @module
 */
import { ConfigError } from './config.js';
import { type RunResult, readPointsCsv, readRunArguments } from './run-results.js';
import { analyseScaling, analysisJson, formatAnalysis, type ScalingAnalysis } from './scaling-analysis.js';

/** Options of `andes-train fit`, as strings from the command line. */
export interface FitCommandOptions {
  points?: string;
  json?: boolean;
  report?: string;
  samples?: string;
  seed?: string;
  inferenceTokens?: string;
}

function integer(flag: string, value: string | undefined, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min)
    throw new ConfigError(`flag ${flag}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** Runs `andes-train fit`; returns the analysis. */
export async function runFitCommand(
  runs: readonly string[],
  options: FitCommandOptions,
  print = (line: string) => console.log(line),
): Promise<ScalingAnalysis> {
  if (options.points !== undefined && runs.length > 0)
    throw new ConfigError('fit: give run directories or --points FILE.csv, not both');
  if (options.points === undefined && runs.length === 0)
    throw new ConfigError('fit: missing run directories (or --points FILE.csv)');
  const results: RunResult[] = options.points !== undefined ? readPointsCsv(options.points) : readRunArguments(runs);
  const analysisOptions = {
    samples: integer('--samples', options.samples, 10, 200),
    seed: integer('--seed', options.seed, 0, 0),
  };
  const analysis = analyseScaling(results, analysisOptions);
  if (options.report !== undefined) {
    const { writeScalingReport } = await import('./scaling-report.js');
    const inference = options.inferenceTokens === undefined ? undefined : Number(options.inferenceTokens);
    if (inference !== undefined && !(inference >= 0))
      throw new ConfigError(`flag --inference-tokens: expected a number >= 0, got ${options.inferenceTokens}`);
    const command = ['andes-train fit', ...(options.points ? ['--points', options.points] : runs)];
    const path = writeScalingReport(analysis, options.report, {
      command: [...command, '--report', options.report].join(' '),
      ...(inference === undefined ? {} : { inferenceTokens: inference }),
    });
    if (!options.json) print(`report: ${path}`);
  }
  if (options.json) print(JSON.stringify(analysisJson(analysis), null, 2));
  else for (const line of formatAnalysis(analysis)) print(line);
  return analysis;
}
