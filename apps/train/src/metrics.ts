/**
 * Training metrics as JSON Lines: one JSON object per line in `<run>/metrics.jsonl`, appended as training goes.
 *
 * @module
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '@andes/tensor/node';

/** One optimizer step. */
export interface TrainMetric {
  type: 'train';
  /** 1-based optimizer step. */
  step: number;
  /** Mean training cross-entropy of the step's tokens, in nats per token. */
  loss: number;
  /** Learning rate used for this step. */
  lr: number;
  /** Global gradient L2 norm before clipping. */
  gradNorm: number;
  /** Tokens consumed so far (all steps, including accumulation micro-batches). */
  tokens: number;
  /** Training throughput of this step in tokens per second. */
  tokensPerSecond: number;
  /** Model FLOP utilisation: 6·N·tokens/s over the measured matmul FLOP/s (0–1). */
  utilisation: number;
  /** Seconds since the run (or the resumed run) started. */
  elapsed: number;
}

/** One validation pass. */
export interface EvalMetric {
  type: 'eval';
  /** Optimizer step after which the evaluation ran. */
  step: number;
  /** Mean validation cross-entropy in nats per token. */
  valLoss: number;
}

/** One generated sample. */
export interface SampleMetric {
  type: 'sample';
  step: number;
  prompt: string;
  text: string;
}

/** Any line of `metrics.jsonl`. */
export type MetricRecord = TrainMetric | EvalMetric | SampleMetric;

/** Appends metric records to a JSONL file, one line per record. */
export class MetricsLog {
  /** @param path The JSONL file; created on first write. */
  constructor(readonly path: string) {}

  /** Appends one record as a line. */
  write(record: MetricRecord): void {
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }

  /**
   * Drops every record after `step` (atomically). A resumed run calls this first, so steps that ran after
   * the last checkpoint of a killed run are not logged twice.
   */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const kept = readMetrics(this.path).filter((r) => r.step <= step);
    writeFileAtomicSync(this.path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}

/** Reads a metrics JSONL file. A torn last line (the process was killed mid-write) is ignored. */
export function readMetrics(path: string): MetricRecord[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const records: MetricRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      records.push(JSON.parse(line) as MetricRecord);
    } catch (err) {
      if (i >= lines.length - 2) break; // only the last line can be torn
      throw new Error(`metrics: ${path} line ${i + 1} is not JSON: ${(err as Error).message}`);
    }
  }
  return records;
}
