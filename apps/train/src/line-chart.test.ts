import { describe, expect, it } from 'vitest';
import { logTicks, renderLineChart } from './line-chart.js';

describe('line chart', () => {
  it('places log-axis points by decade and draws markers, dashes and a legend', () => {
    const svg = renderLineChart({
      title: 'N*(C)',
      xLabel: 'C',
      yLabel: 'N',
      logX: true,
      logY: true,
      series: [
        {
          label: 'fit',
          points: [
            [1e10, 1e4],
            [1e12, 1e6],
          ],
          color: '#123456',
          dash: '6 4',
        },
        { label: 'runs', points: [[1e11, 1e5]], color: '#abcdef', width: 0, markers: 3 },
      ],
    });
    // The x range is padded by 1.15× each side on a log axis: 1e11 sits midway between the two ends.
    const path = /<path d="M([\d.]+),([\d.]+) L([\d.]+),([\d.]+)"/.exec(svg)!;
    const circle = /<circle cx="([\d.]+)" cy="([\d.]+)"/.exec(svg)!;
    expect(Number(circle[1])).toBeCloseTo((Number(path[1]) + Number(path[3])) / 2, 0);
    expect(Number(circle[2])).toBeCloseTo((Number(path[2]) + Number(path[4])) / 2, 0);
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain('>fit</text>');
    expect(svg).toContain('>runs</text>');
    expect(svg).toContain('>1e11</text>');
  });

  it('drops points a log axis cannot show instead of drawing NaN', () => {
    const svg = renderLineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      logX: true,
      series: [
        {
          points: [
            [0, 1],
            [10, 2],
            [100, 3],
          ],
          color: 'red',
        },
      ],
    });
    expect(svg).not.toContain('NaN');
    expect(svg.match(/ L/g)).toHaveLength(1);
  });

  it('ticks log axes at 1-2-5 within two decades and at powers of ten beyond', () => {
    expect(logTicks(1, 100)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(logTicks(1e3, 1e9)).toEqual([1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]);
  });
});
