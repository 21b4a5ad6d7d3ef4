/**
 * The Markdown report of a scaling sweep: the fit beside Chinchilla's, the optima per budget, the monotonicity checks,
 * the trade-off, and the four charts it embeds, written into one directory (report.md, fit.json, *.svg).
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { inferenceTradeoff } from '@andes/scaling';
import { writeFileAtomicSync } from '@andes/tensor/node';
import { formatCount } from './plan.js';
import { analysisJson, formatAnalysis, type ScalingAnalysis } from './scaling-analysis.js';
import { frontierChart, isoflopChart, lossCurvesChart, tradeoffChart } from './scaling-charts.js';
import { formatTradeoff } from './tradeoff-command.js';

/** Options of {@link writeScalingReport}. */
export interface ReportOptions {
  /** The command that produced the runs, quoted in the report. */
  command: string;
  /** Report title. */
  title?: string;
  /** Inference tokens of the trade-off section. Default: 10 × the fitted D*(C) of the largest budget. */
  inferenceTokens?: number;
}

/** Writes report.md, fit.json and the charts of an analysis into `dir`; returns the report's path. */
export function writeScalingReport(analysis: ScalingAnalysis, dir: string, options: ReportOptions): string {
  const { runs } = analysis;
  mkdirSync(dir, { recursive: true });
  const largest = analysis.optima.at(-1)!;
  const inferenceTokens = options.inferenceTokens ?? 10 * largest.fitted.tokens;
  const tradeoff = inferenceTradeoff(analysis.fit, largest.fitted.loss, inferenceTokens);
  const charts = {
    'loss-curves.svg': lossCurvesChart(analysis),
    'isoflop.svg': isoflopChart(analysis),
    'frontier.svg': frontierChart(analysis),
    'tradeoff.svg': tradeoffChart(tradeoff, analysis.fit),
  };
  for (const [name, svg] of Object.entries(charts)) writeFileAtomicSync(join(dir, name), svg);
  writeFileAtomicSync(join(dir, 'fit.json'), `${JSON.stringify(analysisJson(analysis), null, 2)}\n`);

  const runRows = [...runs]
    .sort((a, b) => 6 * a.params * a.tokens - 6 * b.params * b.tokens || a.params - b.params)
    .map(
      (r) =>
        `| ${(6 * r.params * r.tokens).toExponential(2)} | ${formatCount(r.params)} | ${r.width ?? ''} | ` +
        `${formatCount(r.tokens)} | ${(r.tokens / r.params).toFixed(1)} | ${r.loss.toFixed(4)} |`,
    );
  const violations = analysis.pairs.filter((p) => !p.holds);
  const md = [
    `# ${options.title ?? 'Scaling sweep'}`,
    '',
    'Made by:',
    '',
    '```sh',
    options.command,
    '```',
    '',
    `${runs.length} runs. N counts every parameter (tied embeddings once), D the training tokens, C = 6·N·D; the loss ` +
      'is the final validation cross-entropy in nats per token.',
    '',
    '## Runs',
    '',
    '| C (FLOPs) | N | width | D | D/N | loss |',
    '| --- | --- | --- | --- | --- | --- |',
    ...runRows,
    '',
    '![loss curves](loss-curves.svg)',
    '',
    '## Fit (approach 3) beside Chinchilla, IsoFLOP minima (approach 2)',
    '',
    '```text',
    ...formatAnalysis(analysis),
    '```',
    '',
    violations.length === 0
      ? 'Every pair of runs at (nearly, within 1.3×) the same D has the lower loss at the larger N, and every pair at ' +
        'the same N has the lower loss at the larger D.'
      : `Pairs that break monotonicity (${violations.length}): ` +
        violations
          .map(
            (p) =>
              `N ${formatCount(p.smaller.params)}→${formatCount(p.larger.params)}, D ${formatCount(p.smaller.tokens)}→` +
              `${formatCount(p.larger.tokens)}: ${p.smaller.loss.toFixed(4)}→${p.larger.loss.toFixed(4)}`,
          )
          .join('; '),
    '',
    '![IsoFLOP curves](isoflop.svg)',
    '',
    '![compute-optimal frontier](frontier.svg)',
    '',
    '## Trade-off: smaller, trained longer',
    '',
    `To reach the fitted optimum's loss at the largest budget (${largest.fitted.loss.toFixed(4)} at ` +
      `C = ${largest.flops.toExponential(2)}) and then serve ${formatCount(inferenceTokens)} tokens ` +
      `(10 × that budget's D*):`,
    '',
    '```text',
    ...formatTradeoff(tradeoff, analysis.fit),
    '```',
    '',
    '![trade-off](tradeoff.svg)',
    '',
    `For comparison, Chinchilla's published fit would spend C = ${largest.flops.toExponential(2)} FLOPs on ` +
      `${formatCount(largest.chinchilla.params)} parameters and ${formatCount(largest.chinchilla.tokens)} tokens ` +
      `(${largest.chinchilla.tokensPerParameter.toFixed(1)} per parameter); this sweep's fit on ` +
      `${formatCount(largest.fitted.params)} and ${formatCount(largest.fitted.tokens)} ` +
      `(${largest.fitted.tokensPerParameter.toFixed(1)} per parameter).`,
    '',
  ];
  const path = join(dir, 'report.md');
  writeFileAtomicSync(path, md.join('\n'));
  return path;
}
