/**
 * `andes-train tune --preset … [--batch-size --seq-len]`: pre-tunes the WebGPU kernels of a model's shapes on this
 * adapter and prints the winners (they persist in the tuning cache, `ANDES_CACHE_DIR`).
 *
 * @module
 */
import { type LlamaConfig, llamaPreset, llamaTuneShapes } from '@andes/nn';
import { type TuneReport, tune } from '@andes/tensor';
import { ConfigError, parseField } from './config.js';
import { parseNumberFlag } from './number-flag.js';
import { selectBackend } from './pretrain.js';

/** Options of {@link runTuneCommand}, as strings from the command line. */
export interface TuneCommandOptions {
  preset?: string;
  batchSize?: string;
  seqLen?: string;
  vocabSize?: string;
  inference?: boolean;
  force?: boolean;
  backend?: string;
}

/** The model config of a preset; tokenizer-sized presets take `--vocab-size`. */
export function tuneConfig(preset: string, vocabSize: number | undefined): LlamaConfig {
  try {
    return llamaPreset(preset, vocabSize === undefined ? {} : { vocab_size: vocabSize });
  } catch (err) {
    const msg = (err as Error).message;
    if (/vocab_size/.test(msg)) throw new ConfigError(`tune: preset '${preset}' needs --vocab-size (${msg})`);
    throw new ConfigError(`flag --preset: ${msg}`);
  }
}

/** One table line per tuned family and shape class. */
export function formatTuneReports(reports: readonly TuneReport[]): string {
  const lines = ['family               shape class                          winner  candidates (median ms)'];
  for (const r of reports) {
    const times = r.cached
      ? '(cached)'
      : Object.entries(r.times)
          .map(([id, ms]) => `${id} ${ms.toFixed(2)}`)
          .join(', ');
    lines.push(`${r.family.padEnd(20)} ${r.shapeClass.padEnd(36)} ${r.winner.padEnd(7)} ${times}`);
  }
  return lines.join('\n');
}

/** Runs the command; returns the reports (empty on a CPU backend, which has nothing to tune). */
export async function runTuneCommand(
  options: TuneCommandOptions,
  print: (line: string) => void = console.log,
): Promise<TuneReport[]> {
  if (!options.preset) throw new ConfigError('tune: missing --preset <name>');
  const batchSize = parseNumberFlag('--batch-size', options.batchSize ?? '8', { integer: true, min: 1 });
  const seqLen = parseNumberFlag('--seq-len', options.seqLen ?? '256', { integer: true, min: 1 });
  const vocab =
    options.vocabSize === undefined
      ? undefined
      : parseNumberFlag('--vocab-size', options.vocabSize, { integer: true, min: 3 });
  const config = tuneConfig(options.preset, vocab);
  const backend = await selectBackend(parseField('backend', options.backend ?? 'auto', 'flag --backend'));
  if (backend !== 'webgpu') {
    print(`backend: ${backend} — nothing to tune (the kernel autotuner is for WebGPU adapters)`);
    return [];
  }
  const shapes = llamaTuneShapes(config, { batchSize, seqLen, training: !options.inference });
  const t0 = performance.now();
  const reports = await tune(shapes, { force: options.force ?? false });
  print(formatTuneReports(reports));
  print(`tuned ${reports.length} shape classes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return reports;
}
