import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsLog, readMetrics } from './metrics.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'andes-metrics-'));
  dirs.push(dir);
  return join(dir, 'metrics.jsonl');
}

describe('MetricsLog', () => {
  it('appends JSON lines and reads them back', () => {
    const log = new MetricsLog(tempFile());
    log.write({ type: 'eval', step: 3, valLoss: 1.5 });
    log.write({ type: 'sample', step: 3, prompt: 'Once', text: 'Once upon\na "time"' });
    expect(readMetrics(log.path)).toEqual([
      { type: 'eval', step: 3, valLoss: 1.5 },
      { type: 'sample', step: 3, prompt: 'Once', text: 'Once upon\na "time"' },
    ]);
  });

  it('drops records after a step (resume) and ignores a torn last line', () => {
    const log = new MetricsLog(tempFile());
    for (let step = 1; step <= 5; step++) log.write({ type: 'eval', step, valLoss: step });
    appendFileSync(log.path, '{"type":"eval","st');
    expect(readMetrics(log.path)).toHaveLength(5);
    log.truncateAfter(2);
    expect(readMetrics(log.path).map((r) => r.step)).toEqual([1, 2]);
  });

  it('reports a corrupt line in the middle with its number', () => {
    const path = tempFile();
    appendFileSync(path, '{"type":"eval","step":1,"valLoss":1}\nnot json\n{"type":"eval","step":2,"valLoss":1}\n');
    expect(() => readMetrics(path)).toThrow(/line 2 is not JSON/);
  });
});
