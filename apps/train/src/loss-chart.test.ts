import { describe, expect, it } from 'vitest';
import { lossSeriesFromMetrics, niceTicks, renderLossChart } from './loss-chart.js';

describe('loss chart', () => {
  it('picks 1-2-5 ticks covering the range', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(1.3, 4.2, 6)).toEqual([1.5, 2, 2.5, 3, 3.5, 4]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  it('draws both series, the reference line and escapes labels', () => {
    const svg = renderLossChart({
      train: [
        [1, 5],
        [2, 4],
        [3, 3.5],
      ],
      validation: [[3, 3.7]],
      reference: { label: 'unigram <H>', value: 4.5 },
      title: 'run & loss',
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('run &amp; loss');
    expect(svg).toContain('unigram &lt;H&gt;');
    expect(svg.match(/<path /g)).toHaveLength(2);
    // The first train point sits at the left edge of the plot (x = 60), the last at the right (720 - 20).
    expect(svg).toMatch(/d="M60\.0,[\d.]+ L380\.0,[\d.]+ L700\.0,/);
  });

  it('survives empty input', () => {
    expect(renderLossChart({ train: [], validation: [] })).toContain('</svg>');
  });

  it('splits metric records into series', () => {
    const series = lossSeriesFromMetrics([
      {
        type: 'train',
        step: 1,
        loss: 2,
        lr: 1,
        gradNorm: 1,
        tokens: 1,
        tokensPerSecond: 1,
        utilisation: 0,
        elapsed: 0,
      },
      { type: 'eval', step: 1, valLoss: 2.5 },
      { type: 'sample', step: 1, prompt: '', text: 'x' },
    ]);
    expect(series).toEqual({ train: [[1, 2]], validation: [[1, 2.5]] });
  });
});
