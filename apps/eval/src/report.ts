/**
 * Evaluation reports: the JSON document, a terminal table and a markdown report, with models side by side.
 * @module
 */
import type { TaskResult } from './evaluate-task.js';
import type { MetricValue, PerplexityResult } from './metrics.js';

/** Scores of several models on the same tasks (the `--json` document of `andes-eval tasks`). */
export interface TasksReport {
  kind: 'tasks';
  settings: { shots: number; seed: number; limit: number | null };
  models: { model: string; results: TaskResult[] }[];
}

/** Perplexity of several models on the same documents (the `--json` document of `andes-eval perplexity`). */
export interface PerplexityReport {
  kind: 'perplexity';
  settings: { data: string[]; context: number | null; stride: number | null };
  models: { model: string; result: PerplexityResult }[];
}

/** Either report. */
export type EvalReport = TasksReport | PerplexityReport;

/** A table: a header row and body rows of cell strings. */
export interface Table {
  header: string[];
  rows: string[][];
}

/** `0.6250 ± 0.0312` (four decimals, as the harness's table). */
export function formatMetric(m: MetricValue | undefined): string {
  if (m === undefined) return '—';
  return m.stderr === null ? m.value.toFixed(4) : `${m.value.toFixed(4)} ± ${m.stderr.toFixed(4)}`;
}

/** A table cell: four decimals, one above 1000, and four significant digits in scientific form from a million up
 * (an untrained model's word perplexity is ~1e21, which printed in full is 22 unreadable digits). */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1e6) return x.toExponential(3);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1000 ? x.toFixed(1) : x.toFixed(4);
}

/** The report as a table: one row per (task, metric) or per perplexity measure, one column per model. */
export function reportTable(report: EvalReport): Table {
  const modelNames = report.models.map((m) => m.model);
  if (report.kind === 'perplexity') {
    const measures: [string, keyof PerplexityResult][] = [
      ['tokens', 'tokens'],
      ['bytes', 'bytes'],
      ['token perplexity', 'tokenPerplexity'],
      ['word perplexity', 'wordPerplexity'],
      ['bits per byte', 'bitsPerByte'],
    ];
    return {
      header: ['Measure', ...modelNames],
      rows: measures.map(([label, key]) => [label, ...report.models.map((m) => formatNumber(m.result[key]))]),
    };
  }
  const rows: string[][] = [];
  const first = report.models[0]?.results ?? [];
  for (const task of first) {
    for (const metric of Object.keys(task.metrics)) {
      const chance = metric.startsWith('acc') && task.chance !== null ? task.chance.toFixed(4) : '—';
      const cells = report.models.map((m) =>
        formatMetric(m.results.find((r) => r.task === task.task)?.metrics[metric]),
      );
      rows.push([task.task, String(task.n), String(task.shots), metric, chance, ...cells]);
    }
  }
  return { header: ['Task', 'n', 'Shots', 'Metric', 'Chance', ...modelNames], rows };
}

/** A plain-text table with aligned columns, for the terminal. */
export function renderTerminalTable(table: Table): string {
  const all = [table.header, ...table.rows];
  const widths = table.header.map((_, c) => all.reduce((m, r) => Math.max(m, [...(r[c] ?? '')].length), 0));
  const line = (r: string[]) =>
    r
      .map((cell, c) => cell + ' '.repeat(widths[c]! - [...cell].length))
      .join(' │ ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  return [line(table.header), rule, ...table.rows.map(line)].join('\n') + '\n';
}

function escapeCell(cell: string): string {
  return cell.replace(/\|/g, '\\|');
}

/** A markdown report: a title, the settings, and the table (models side by side). */
export function renderMarkdown(report: EvalReport): string {
  const table = reportTable(report);
  const title = report.kind === 'tasks' ? '## Task accuracy' : '## Perplexity';
  const settings =
    report.kind === 'tasks'
      ? `${report.settings.shots}-shot, seed ${report.settings.seed}` +
        (report.settings.limit === null ? '' : `, first ${report.settings.limit} items per task`) +
        '. Scores are log-likelihood rankings as in lm-evaluation-harness; ± is the standard error of the mean.'
      : `Data: ${report.settings.data.map((d) => `\`${d}\``).join(', ')}; ` +
        (report.settings.context === null
          ? "windows of the model's context length"
          : `windows of ${report.settings.context} tokens`) +
        (report.settings.stride === null ? ', disjoint.' : `, stride ${report.settings.stride}.`) +
        ' Rolling log-likelihood as in lm-evaluation-harness; bits per byte over UTF-8 bytes.';
  const md = [
    `| ${table.header.map(escapeCell).join(' | ')} |`,
    `|${table.header.map((_, i) => (i === 0 || (report.kind === 'tasks' && i === 3) ? ' --- ' : ' ---: ')).join('|')}|`,
    ...table.rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`),
  ];
  return `${title}\n\n${settings}\n\n${md.join('\n')}\n`;
}

/** The JSON document (pretty-printed, with a trailing newline). */
export function renderJson(report: EvalReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
