import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeOptimal, type ScalingLaw, scalingLoss } from '@andes/scaling';
import { seededUniform } from '@andes/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { runFitCommand } from './fit-command.js';
import { readPointsCsv } from './run-results.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-train-fit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LAW: ScalingLaw = { E: 2.1, A: 300, B: 900, alpha: 0.4, beta: 0.33 };

/** An IsoFLOP CSV from a known law with 0.3% log-normal noise, rows shuffled, columns reordered. */
function writeCsv(path: string): void {
  const random = seededUniform(4);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const rows: string[] = [];
  for (const flops of [1e16, 1e17, 1e18, 1e19]) {
    const optimum = computeOptimal(LAW, flops).params;
    for (let k = -2; k <= 2; k++) {
      const params = optimum * 2.5 ** k;
      const tokens = flops / (6 * params);
      rows.push(`${tokens},${(scalingLoss(LAW, params, tokens) * Math.exp(0.003 * normal())).toFixed(6)},${params}`);
    }
  }
  writeFileSync(path, `# synthetic\ntokens,loss,params\n${rows.reverse().join('\n')}\n`);
}

describe('andes-train fit --points', () => {
  it('prints { E, A, B, alpha, beta, ci } with the true law inside the intervals', async () => {
    const csv = join(dir, 'points.csv');
    writeCsv(csv);
    const lines: string[] = [];
    await runFitCommand([], { points: csv, json: true, samples: '60' }, (line) => lines.push(line));
    const json = JSON.parse(lines.join('\n'));
    for (const key of ['E', 'A', 'B', 'alpha', 'beta'] as const) {
      expect(typeof json[key]).toBe('number');
      const [lo, hi] = json.ci[key] as [number, number];
      expect(LAW[key], key).toBeGreaterThanOrEqual(lo);
      expect(LAW[key], key).toBeLessThanOrEqual(hi);
    }
    expect(json.isoflopMinima).toHaveLength(4);
    expect(json.points).toHaveLength(20);
  });

  it("prints a table beside Chinchilla's and writes a report with four charts", async () => {
    const csv = join(dir, 'table.csv');
    writeCsv(csv);
    const lines: string[] = [];
    const report = join(dir, 'report');
    await runFitCommand([], { points: csv, samples: '20', report }, (line) => lines.push(line));
    const text = lines.join('\n');
    expect(text).toMatch(/alpha +0\.\d{3} +\[0\.\d{3}, 0\.\d{3}\] +0\.34/);
    expect(text).toMatch(/beta +0\.\d{3} +\[0\.\d{3}, 0\.\d{3}\] +0\.28/);
    expect(text).toContain('IsoFLOP frontier (approach 2, through the bracketed minima)');
    expect(text).toContain('loss falls with D at fixed N');
    const md = readFileSync(join(report, 'report.md'), 'utf8');
    for (const chart of ['loss-curves.svg', 'isoflop.svg', 'frontier.svg', 'tradeoff.svg']) {
      expect(md).toContain(`](${chart})`);
      expect(readFileSync(join(report, chart), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    }
    expect(md).toContain(`andes-train fit --points ${csv} --report ${report}`);
  });

  it('names the file, line and column of a bad CSV value, and a missing header', () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'params,tokens,loss\n1e6,2e7,3.1\n1e6,,3.0\n');
    expect(() => readPointsCsv(bad)).toThrow(`${bad}:3: column tokens: expected a positive number, got ""`);
    writeFileSync(bad, 'n,d,l\n1,2,3\n');
    expect(() => readPointsCsv(bad)).toThrow(`${bad}:1: expected a header row with columns params,tokens,loss`);
  });

  it('refuses run directories together with --points', async () => {
    await expect(runFitCommand(['runs/x'], { points: 'p.csv' })).rejects.toThrow('not both');
    await expect(runFitCommand([], {})).rejects.toThrow('missing run directories');
  });
});
