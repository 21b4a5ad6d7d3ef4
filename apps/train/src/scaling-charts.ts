/**
 * The scaling-law charts, drawn with the one chart writer ({@link renderLineChart}): loss curves per budget, IsoFLOP
 * curves with their minima, the compute-optimal frontier, and the inference trade-off curve.
 *
 * @module
 */
import { CHINCHILLA, computeOptimal, type ScalingLaw, type Tradeoff, tradeoffCurve } from '@andes/scaling';
import { type ChartSeries, renderLineChart } from './line-chart.js';
import type { ScalingAnalysis } from './scaling-analysis.js';

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** Budget index of each run (by the analysis's IsoFLOP grouping order). */
function budgetOf(analysis: ScalingAnalysis, params: number, tokens: number): number {
  const c = 6 * params * tokens;
  let best = 0;
  analysis.optima.forEach((o, i) => {
    if (Math.abs(Math.log(c / o.flops)) < Math.abs(Math.log(c / analysis.optima[best]!.flops))) best = i;
  });
  return best;
}

function budgetLabel(flops: number): string {
  return `C = ${flops.toExponential(1).replace('e+', 'e')}`;
}

/** Moving average over `window` points: per-step training losses are noisy. */
function smooth(curve: readonly [number, number][], window: number): [number, number][] {
  const out: [number, number][] = [];
  let sum = 0;
  for (let i = 0; i < curve.length; i++) {
    sum += curve[i]![1];
    if (i >= window) sum -= curve[i - window]![1];
    if (i >= window - 1 || i === curve.length - 1) out.push([curve[i]![0], sum / Math.min(window, i + 1)]);
  }
  return out;
}

/** Training loss against tokens for every run, one colour per budget (log x). */
export function lossCurvesChart(analysis: ScalingAnalysis): string {
  const series: ChartSeries[] = analysis.optima.map((o, i) => ({
    label: budgetLabel(o.flops),
    points: [],
    color: PALETTE[i % PALETTE.length]!,
  }));
  for (const run of analysis.runs) {
    if (run.curve.length === 0) continue;
    const color = PALETTE[budgetOf(analysis, run.params, run.tokens) % PALETTE.length]!;
    const smoothed = smooth(run.curve, 10);
    // At most ~150 points per curve: thousands of steps per run would make a chart of hundreds of kilobytes.
    const stride = Math.max(1, Math.ceil(smoothed.length / 150));
    const thinned = smoothed.filter((_, i) => i % stride === 0 || i === smoothed.length - 1);
    series.push({ points: thinned, color, width: 1.2 });
    series.push({ points: [[run.tokens, run.loss]], color, width: 0, markers: 3 });
  }
  return renderLineChart({
    title: 'Training loss (10-step mean) per run; dots: final validation loss',
    xLabel: 'tokens',
    yLabel: 'loss (nats/token)',
    logX: true,
    series,
  });
}

/** Final loss against N per budget with each budget's parabola in log N and its vertex (approach 2). */
export function isoflopChart(analysis: ScalingAnalysis): string {
  const series: ChartSeries[] = [];
  analysis.optima.forEach((o, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const runs = analysis.runs
      .filter((r) => budgetOf(analysis, r.params, r.tokens) === i)
      .sort((a, b) => a.params - b.params);
    series.push({
      label: budgetLabel(o.flops),
      points: runs.map((r) => [r.params, r.loss]),
      color,
      width: 0,
      markers: 4,
    });
    const minimum = analysis.minima.find((m) => Math.abs(Math.log(m.flops / o.flops)) < 1e-9);
    if (!minimum || runs.length === 0) return;
    const [c0, c1, c2] = minimum.parabola;
    // Draw the parabola over the measured sizes (and a vertex at most 4× beyond them): a vertex extrapolated far
    // outside would stretch the axis over decades that hold no run.
    const smallest = runs[0]!.params;
    const largest = runs.at(-1)!.params;
    const vertexShown = minimum.params >= smallest / 4 && minimum.params <= largest * 4;
    const lo = Math.log(vertexShown ? Math.min(smallest, minimum.params) : smallest) - 0.2;
    const hi = Math.log(vertexShown ? Math.max(largest, minimum.params) : largest) + 0.2;
    const curve: [number, number][] = Array.from({ length: 40 }, (_, k) => {
      const x = lo + ((hi - lo) * k) / 39;
      return [Math.exp(x), c0 + c1 * x + c2 * x * x];
    });
    series.push({ points: curve, color, width: 1.2, dash: '5 3' });
    if (vertexShown)
      series.push({ points: [[minimum.params, minimum.loss]], color, width: 0, markers: 7, hollow: true });
  });
  return renderLineChart({
    title: 'IsoFLOP curves: final loss vs parameters, parabola in log N, open circle = minimum',
    xLabel: 'parameters N',
    yLabel: 'validation loss (nats/token)',
    logX: true,
    series,
  });
}

/** N_opt against C: IsoFLOP minima, the approach-2 power law, the fitted law's N*(C) and Chinchilla's. */
export function frontierChart(analysis: ScalingAnalysis): string {
  const budgets = analysis.optima.map((o) => o.flops);
  const lo = Math.log(Math.min(...budgets) / 3);
  const hi = Math.log(Math.max(...budgets) * 3);
  const line = (f: (c: number) => number): [number, number][] =>
    Array.from({ length: 30 }, (_, k) => {
      const c = Math.exp(lo + ((hi - lo) * k) / 29);
      return [c, f(c)];
    });
  const series: ChartSeries[] = [
    {
      label: 'fitted L(N, D): N*(C)',
      points: line((c) => computeOptimal(analysis.fit, c).params),
      color: '#1f77b4',
      width: 2,
    },
    {
      label: "Chinchilla's fit: N*(C)",
      points: line((c) => computeOptimal(CHINCHILLA, c).params),
      color: '#7f7f7f',
      dash: '6 4',
    },
  ];
  if (analysis.frontier) {
    const { k, exponent } = analysis.frontier.params;
    series.push({ label: 'IsoFLOP power law', points: line((c) => k * c ** exponent), color: '#ff7f0e', dash: '2 3' });
  }
  const sizes = analysis.runs.map((r) => r.params);
  series.push({
    label: 'IsoFLOP minima',
    points: analysis.minima
      .filter((m) => m.params >= Math.min(...sizes) / 4 && m.params <= Math.max(...sizes) * 4)
      .map((m) => [m.flops, m.params]),
    color: '#ff7f0e',
    width: 0,
    markers: 5,
  });
  series.push({
    label: 'runs',
    points: analysis.runs.map((r) => [6 * r.params * r.tokens, r.params]),
    color: '#bbbbbb',
    width: 0,
    markers: 2.5,
  });
  return renderLineChart({
    title: 'Compute-optimal model size N*(C)',
    xLabel: 'training FLOPs C = 6ND',
    yLabel: 'parameters',
    logX: true,
    logY: true,
    series,
  });
}

/** Training + inference FLOPs against N at the target loss, with the best and the Chinchilla-optimal sizes. */
export function tradeoffChart(tradeoff: Tradeoff, law: ScalingLaw): string {
  const rows = tradeoffCurve(tradeoff, law, 80, 4);
  return renderLineChart({
    title: `Reaching loss ${tradeoff.targetLoss.toFixed(3)}, then serving ${tradeoff.inferenceTokens.toExponential(1)} tokens`,
    xLabel: 'parameters N',
    yLabel: 'FLOPs',
    logX: true,
    logY: true,
    series: [
      { label: 'training + inference', points: rows.map((r) => [r.params, r.totalFlops]), color: '#1f77b4', width: 2 },
      { label: 'training 6·N·D', points: rows.map((r) => [r.params, r.trainingFlops]), color: '#7f7f7f', dash: '6 4' },
      {
        label: 'inference 2·N·T',
        points: rows.map((r) => [r.params, r.inferenceFlops]),
        color: '#2ca02c',
        dash: '2 3',
      },
      {
        label: 'least total',
        points: [[tradeoff.best.params, tradeoff.best.totalFlops]],
        color: '#d62728',
        width: 0,
        markers: 6,
      },
      {
        label: 'Chinchilla-optimal',
        points: [[tradeoff.chinchilla.params, tradeoff.chinchilla.totalFlops]],
        color: '#111111',
        width: 0,
        markers: 6,
        hollow: true,
      },
    ],
  });
}
