import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSweepConfig, planSweep } from './sweep-config.js';
import { type PointView, SweepProgress } from './sweep-progress.js';
import { writeOrCheckManifest } from './sweep-state.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-train-sweep-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sweep = parseSweepConfig({ outDir: join(dir, 's'), widths: [32, 64], budgets: [1e10], perBudget: 2 });
const points = planSweep(sweep);

/** A stream that records writes. */
function recorder(isTTY: boolean) {
  const writes: string[] = [];
  const stream = { isTTY, columns: 120, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe('sweep progress view', () => {
  it('redraws one line per point in place on a terminal', () => {
    const { stream, writes } = recorder(true);
    const progress = new SweepProgress('s', stream);
    const views: PointView[] = points.map((point) => ({
      point,
      phase: 'queued',
      state: { status: 'fresh', checkpointStep: 0, loggedStep: 0 },
    }));
    progress.render(views);
    views[0]!.phase = 'running';
    views[0]!.state = {
      status: 'partial',
      checkpointStep: 2,
      loggedStep: Math.floor(points[0]!.steps / 2),
      trainLoss: 3.25,
    };
    progress.render(views);
    expect(writes[0]!.startsWith('\x1b[2K')).toBe(true);
    // The second frame moves up over the first (header, column names, two points).
    expect(writes[1]!.startsWith('\x1b[4F')).toBe(true);
    expect(writes[1]).toContain('1 running');
    expect(writes[1]).toMatch(/████████░░░░░░░░ +\d+\/\d+ +running +train 3\.2500/);
  });

  it('prints only changes without a terminal', () => {
    const { stream, writes } = recorder(false);
    const progress = new SweepProgress('s', stream);
    const view: PointView = {
      point: points[1]!,
      phase: 'running',
      state: { status: 'fresh', checkpointStep: 0, loggedStep: 0 },
    };
    progress.render([view]);
    progress.render([view]);
    view.phase = 'done';
    view.state = { status: 'done', checkpointStep: points[1]!.steps, loggedStep: points[1]!.steps, valLoss: 4.5 };
    progress.render([view]);
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatch(/done +val 4\.5000/);
  });
});

describe('sweep manifest', () => {
  it('refuses a sweep directory that holds another grid, and lets a grid grow at its end', () => {
    const path = join(dir, 'manifest.json');
    writeOrCheckManifest(path, sweep, points);
    writeOrCheckManifest(path, sweep, points); // same grid: fine
    const other = planSweep({ ...sweep, budgets: [2e10] });
    expect(() => writeOrCheckManifest(path, sweep, other)).toThrow('holds a different grid');
    const grown = planSweep({ ...sweep, budgets: [1e10, 4e10] });
    writeOrCheckManifest(path, sweep, grown);
    expect(JSON.parse(readFileSync(path, 'utf8')).points).toHaveLength(4);
  });
});
