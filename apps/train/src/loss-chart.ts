/**
 * A dependency-free SVG line chart of training and validation loss against step.
 *
 * @module
 */
import { type LineChart, niceTicks, renderLineChart } from './line-chart.js';
import type { MetricRecord } from './metrics.js';

export { niceTicks };

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

/** Renders the chart as a standalone SVG document (drawn by {@link renderLineChart}). */
export function renderLossChart(input: LossChartInput): string {
  const chart: LineChart = {
    title: input.title ?? 'Loss',
    xLabel: 'step',
    yLabel: 'loss (nats/token)',
    series: [
      { label: 'train', points: input.train, color: '#1f77b4', width: 1.2 },
      { label: 'validation', points: input.validation, color: '#d62728', width: 2, markers: 3 },
    ],
  };
  if (input.reference) chart.references = [input.reference];
  return renderLineChart(chart);
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
