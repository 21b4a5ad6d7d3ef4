/**
 * A dependency-free SVG line chart of training and validation loss against step.
 *
 * @module
 */
import type { MetricRecord } from './metrics.js';

/** A series of `[step, loss]` points. */
export type LossSeries = readonly (readonly [number, number])[];

/** Inputs of {@link renderLossChart}. */
export interface LossChartInput {
  /** Training loss per step. */
  train: LossSeries;
  /** Validation loss at the evaluation steps. */
  validation: LossSeries;
  /** Optional dashed reference line, e.g. the corpus's unigram cross-entropy. */
  reference?: { label: string; value: number };
  /** Chart title. */
  title?: string;
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 60, right: 20, top: 36, bottom: 44 };

/** "Nice" tick values (1, 2, 5 × 10^k) covering [lo, hi] with about `count` ticks. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** Renders the chart as a standalone SVG document. */
export function renderLossChart(input: LossChartInput): string {
  const all = [...input.train, ...input.validation].filter(([, y]) => Number.isFinite(y));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  if (input.reference) ys.push(input.reference.value);
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs, xMin + 1) : 1;
  const yMin = ys.length ? Math.max(0, Math.min(...ys)) : 0;
  const yMax = ys.length ? Math.max(...ys, yMin + 1e-6) : 1;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number) => MARGIN.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;
  const path = (series: LossSeries) =>
    series
      .filter(([, y]) => Number.isFinite(y))
      .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join(' ');

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(input.title ?? 'Loss')}</text>`,
  ];
  for (const t of niceTicks(yMin, yMax)) {
    const y = py(t).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${t}</text>`);
  }
  for (const t of niceTicks(xMin, xMax)) {
    const x = px(t).toFixed(1);
    parts.push(`<text x="${x}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">step</text>`,
    `<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">loss (nats/token)</text>`,
  );
  if (input.reference) {
    const y = py(input.reference.value).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#999" stroke-dasharray="6 4"/>`,
      `<text x="${WIDTH - MARGIN.right - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#666">${escapeXml(input.reference.label)}</text>`,
    );
  }
  if (input.train.length)
    parts.push(`<path d="${path(input.train)}" fill="none" stroke="#1f77b4" stroke-width="1.2"/>`);
  if (input.validation.length) {
    parts.push(`<path d="${path(input.validation)}" fill="none" stroke="#d62728" stroke-width="2"/>`);
    for (const [x, y] of input.validation)
      if (Number.isFinite(y))
        parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="#d62728"/>`);
  }
  const legendX = MARGIN.left + 12;
  parts.push(
    `<line x1="${legendX}" x2="${legendX + 20}" y1="${MARGIN.top + 14}" y2="${MARGIN.top + 14}" stroke="#1f77b4" stroke-width="2"/>`,
    `<text x="${legendX + 26}" y="${MARGIN.top + 18}">train</text>`,
    `<line x1="${legendX}" x2="${legendX + 20}" y1="${MARGIN.top + 30}" y2="${MARGIN.top + 30}" stroke="#d62728" stroke-width="2"/>`,
    `<text x="${legendX + 26}" y="${MARGIN.top + 34}">validation</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

/** Builds the chart input from metric records (train losses and validation losses). */
export function lossSeriesFromMetrics(records: readonly MetricRecord[]): { train: LossSeries; validation: LossSeries } {
  const train: [number, number][] = [];
  const validation: [number, number][] = [];
  for (const r of records) {
    if (r.type === 'train') train.push([r.step, r.loss]);
    else if (r.type === 'eval') validation.push([r.step, r.valLoss]);
  }
  return { train, validation };
}
