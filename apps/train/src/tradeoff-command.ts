/**
 * `andes-train tradeoff --fit FIT --inference-tokens T [--target-loss L]`: for a target loss, the training and
 * inference FLOPs of each model size under a fitted law, and the size that minimises their sum beside the
 * Chinchilla-optimal one (the LLaMA argument; Sardana et al. 2023).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { CHINCHILLA, inferenceTradeoff, type ScalingLaw, type Tradeoff, tradeoffRow } from '@andes/scaling';
import { writeFileAtomicSync } from '@andes/tensor/node';
import { ConfigError } from './config.js';
import { formatCount } from './plan.js';
import { tradeoffChart } from './scaling-charts.js';

/** Options of `andes-train tradeoff`, as strings from the command line. */
export interface TradeoffCommandOptions {
  fit?: string;
  inferenceTokens?: string;
  targetLoss?: string;
  svg?: string;
  json?: boolean;
}

/**
 * Reads a law: `chinchilla` (the published fit), or a JSON file with numeric E, A, B, alpha, beta (what `fit --json`
 * prints and the report's fit.json holds). Returns the law and, when the file has them, its per-budget optima.
 */
export function readLaw(source: string): { law: ScalingLaw; largestOptimumLoss?: number } {
  if (source === 'chinchilla') return { law: CHINCHILLA };
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(source, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(
      `flag --fit: cannot read a JSON fit from ${JSON.stringify(source)}: ${(err as Error).message}`,
    );
  }
  const law = {} as ScalingLaw;
  for (const key of ['E', 'A', 'B', 'alpha', 'beta'] as const) {
    const value = json[key];
    // E may be 0: a fit of runs far from their irreducible loss drives E = eᵉ down to underflow.
    const ok = typeof value === 'number' && Number.isFinite(value) && (key === 'E' ? value >= 0 : value > 0);
    if (!ok)
      throw new ConfigError(
        `fit ${source}: field "${key}" must be a ${key === 'E' ? 'number >= 0' : 'positive number'}, got ${JSON.stringify(value)}`,
      );
    law[key] = value as number;
  }
  const optima = json.optima as { fitted?: { loss?: number } }[] | undefined;
  const last = Array.isArray(optima) ? optima.at(-1)?.fitted?.loss : undefined;
  return typeof last === 'number' ? { law, largestOptimumLoss: last } : { law };
}

function parseNumber(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min)
    throw new ConfigError(`flag ${flag}: expected a number >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** The table `tradeoff` prints: sizes from the smallest useful to 2× Chinchilla's, the best marked. */
export function formatTradeoff(tradeoff: Tradeoff, law: ScalingLaw): string[] {
  const chinchillaN = tradeoff.chinchilla.params;
  const sizes = [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2]
    .map((f) => f * chinchillaN)
    .filter((n) => n > tradeoff.minParams * 1.05);
  const rows = [...sizes.map((n) => tradeoffRow(law, n, tradeoff.targetLoss, tradeoff.inferenceTokens)), tradeoff.best]
    .sort((a, b) => a.params - b.params)
    .filter((r, i, all) => i === 0 || Math.abs(r.params / all[i - 1]!.params - 1) > 1e-3 || r === tradeoff.best);
  const lines = [
    `target loss ${tradeoff.targetLoss.toFixed(4)} nats/token, ${formatCount(tradeoff.inferenceTokens)} inference tokens ` +
      `(law: E=${law.E.toFixed(3)} A=${law.A.toPrecision(4)} B=${law.B.toPrecision(4)} α=${law.alpha.toFixed(3)} β=${law.beta.toFixed(3)})`,
    `  smallest model that can reach it: ${formatCount(tradeoff.minParams)} parameters (on unlimited data)`,
    '',
    '  params      tokens      D/N      train FLOPs   infer FLOPs   total FLOPs   vs Chinchilla',
  ];
  for (const r of rows) {
    const mark =
      r === tradeoff.best
        ? '  ← least total'
        : Math.abs(r.params / chinchillaN - 1) < 1e-9
          ? '  ← Chinchilla-optimal'
          : '';
    lines.push(
      `  ${formatCount(r.params).padEnd(10)}  ${formatCount(r.tokens).padEnd(10)}  ${r.tokensPerParameter.toFixed(1).padStart(7)}   ` +
        `${r.trainingFlops.toExponential(2).padStart(11)}   ${r.inferenceFlops.toExponential(2).padStart(11)}   ` +
        `${r.totalFlops.toExponential(2).padStart(11)}   ${((r.totalFlops / tradeoff.chinchilla.totalFlops) * 100).toFixed(1).padStart(6)}%${mark}`,
    );
  }
  const saved = 1 - tradeoff.best.totalFlops / tradeoff.chinchilla.totalFlops;
  lines.push(
    '',
    `  least total: ${formatCount(tradeoff.best.params)} parameters on ${formatCount(tradeoff.best.tokens)} tokens ` +
      `(${tradeoff.best.tokensPerParameter.toFixed(1)} per parameter), ${(saved * 100).toFixed(1)}% less compute than the ` +
      `Chinchilla-optimal ${formatCount(chinchillaN)} on ${formatCount(tradeoff.chinchilla.tokens)} ` +
      `(${tradeoff.chinchilla.tokensPerParameter.toFixed(1)} per parameter)`,
  );
  return lines;
}

/** Runs `andes-train tradeoff`; returns the trade-off. */
export function runTradeoffCommand(
  options: TradeoffCommandOptions,
  print = (line: string) => console.log(line),
): Tradeoff {
  if (options.fit === undefined) throw new ConfigError('tradeoff: missing --fit <fit.json | chinchilla>');
  if (options.inferenceTokens === undefined) throw new ConfigError('tradeoff: missing --inference-tokens <T>');
  const { law, largestOptimumLoss } = readLaw(options.fit);
  const inferenceTokens = parseNumber('--inference-tokens', options.inferenceTokens, 0);
  let targetLoss = largestOptimumLoss;
  if (options.targetLoss !== undefined) targetLoss = parseNumber('--target-loss', options.targetLoss, 0);
  if (targetLoss === undefined)
    throw new ConfigError('tradeoff: missing --target-loss <nats/token> (the fit file names no budgets to default to)');
  if (!(targetLoss > law.E))
    throw new ConfigError(
      `flag --target-loss: ${targetLoss} is not above the fit's irreducible loss E = ${law.E.toFixed(4)}; no model reaches it`,
    );
  const tradeoff = inferenceTradeoff(law, targetLoss, inferenceTokens);
  if (options.svg) writeFileAtomicSync(options.svg, tradeoffChart(tradeoff, law));
  if (options.json) print(JSON.stringify(tradeoff, null, 2));
  else for (const line of formatTradeoff(tradeoff, law)) print(line);
  return tradeoff;
}
