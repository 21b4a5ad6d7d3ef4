import { describe, expect, it } from 'vitest';
import {
  formatMetric,
  formatNumber,
  renderMarkdown,
  renderTerminalTable,
  reportTable,
  type TasksReport,
} from './report.js';

const report: TasksReport = {
  kind: 'tasks',
  settings: { shots: 0, seed: 1234, limit: null },
  models: ['a', 'b'].map((model, k) => ({
    model,
    results: [
      {
        task: 'names',
        family: 'multiple_choice',
        n: 100,
        shots: 0,
        chance: 0.25,
        metrics: { acc: { value: 0.5 + k / 10, stderr: 0.05 }, acc_norm: { value: 0.4, stderr: 0.049 } },
      },
    ],
  })),
};

describe('reports', () => {
  it('puts models side by side, one row per task metric', () => {
    const t = reportTable(report);
    expect(t.header).toEqual(['Task', 'n', 'Shots', 'Metric', 'Chance', 'a', 'b']);
    expect(t.rows[0]).toEqual(['names', '100', '0', 'acc', '0.2500', '0.5000 ± 0.0500', '0.6000 ± 0.0500']);
    expect(t.rows).toHaveLength(2);
  });
  it('renders aligned terminal text and a markdown table', () => {
    const text = renderTerminalTable(reportTable(report));
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]!.indexOf('│')).toBe(lines[0]!.indexOf('│'));
    const md = renderMarkdown(report);
    expect(md).toContain('| names | 100 | 0 | acc | 0.2500 | 0.5000 ± 0.0500 | 0.6000 ± 0.0500 |');
    expect(md).toContain('0-shot, seed 1234');
  });
  it('formats a metric without stderr', () => {
    expect(formatMetric({ value: 1, stderr: null })).toBe('1.0000');
    expect(formatMetric(undefined)).toBe('—');
  });
});

describe('formatNumber', () => {
  it("prints huge values (an untrained model's word perplexity) in short scientific form, others as before", () => {
    expect(formatNumber(2.1162720115203912e21)).toBe('2.116e+21');
    expect(formatNumber(1_234_567.891)).toBe('1.235e+6');
    expect(formatNumber(24.03612)).toBe('24.0361');
    expect(formatNumber(4096.25)).toBe('4096.3');
    expect(formatNumber(1024)).toBe('1024');
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});
