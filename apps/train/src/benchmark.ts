/**
 * `andes-train bench` (`npm run bench -w @andes/train`): training tokens/s of `tiny` and `stories-15m` on random
 * tokens, and utilisation against the backend's own matmul rate (square 512³ and the model's MLP shape).
 *
 * @module
 */
import type { Batch } from '@andes/data';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { AdamW } from '@andes/optim';
import { SeededRandom } from '@andes/tensor';
import { ConfigError, parseField } from './config.js';
import { parseNumberFlag } from './number-flag.js';
import { selectBackend } from './pretrain.js';
import { measureMatmulFlops, utilisation } from './throughput.js';
import { trainStep } from './trainer.js';

/** One benchmarked model. */
export interface BenchmarkCase {
  preset: string;
  /** Vocabulary for presets that take it from a tokenizer. */
  vocabSize?: number;
  batchSize: number;
  seqLen: number;
}

/** One result row. */
export interface BenchmarkResult extends BenchmarkCase {
  params: number;
  tokensPerSecond: number;
  /** 6·N·tokens/s. */
  modelFlops: number;
  /** Matmul FLOP/s at 512³. */
  squareMatmulFlops: number;
  /** Matmul FLOP/s at `[batch·seq, d] × [d, intermediate]`. */
  shapeMatmulFlops: number;
}

/** The default cases: small batches so a 2-core machine finishes in about a minute. */
export const BENCHMARK_CASES: BenchmarkCase[] = [
  { preset: 'tiny', vocabSize: 1024, batchSize: 8, seqLen: 128 },
  { preset: 'stories-15m', batchSize: 2, seqLen: 256 },
];

function randomBatch(vocab: number, batchSize: number, seqLen: number, seed: number): Batch {
  const rng = new SeededRandom(seed);
  const row = Int32Array.from({ length: batchSize * seqLen + 1 }, () => rng.int(vocab));
  return { inputs: row.slice(0, -1), targets: row.slice(1), batchSize, seqLen };
}

/** Runs `warmup` untimed and `steps` timed training steps of one case. */
export async function benchmarkCase(c: BenchmarkCase, steps: number, warmup = 1): Promise<BenchmarkResult> {
  const config = llamaPreset(c.preset, c.vocabSize === undefined ? {} : { vocab_size: c.vocabSize });
  const model = new LlamaForCausalLM(config, { seed: 1 });
  const optimizer = new AdamW(model.namedParameters(), { lr: 1e-4 });
  const batch = randomBatch(config.vocab_size, c.batchSize, c.seqLen, 7);
  for (let i = 0; i < warmup; i++) await trainStep(model, optimizer, [batch], 1e-4);
  const start = performance.now();
  for (let i = 0; i < steps; i++) await trainStep(model, optimizer, [batch], 1e-4);
  const seconds = (performance.now() - start) / 1000;
  const params = model.numParameters();
  model.dispose();
  optimizer.dispose();
  const tokensPerSecond = (steps * c.batchSize * c.seqLen) / seconds;
  return {
    ...c,
    params,
    tokensPerSecond,
    modelFlops: 6 * params * tokensPerSecond,
    squareMatmulFlops: await measureMatmulFlops(),
    shapeMatmulFlops: await measureMatmulFlops({
      m: c.batchSize * c.seqLen,
      k: config.hidden_size,
      n: config.intermediate_size,
    }),
  };
}

/** Formats results as a Markdown table. */
export function benchmarkTable(backend: string, results: readonly BenchmarkResult[]): string {
  const rows = results.map((r) => {
    const g = (x: number) => (x / 1e9).toFixed(2);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    return (
      `| ${r.preset} | ${(r.params / 1e6).toFixed(2)}M | ${r.batchSize}×${r.seqLen} | ${r.tokensPerSecond.toFixed(0)} | ` +
      `${g(r.modelFlops)} | ${g(r.squareMatmulFlops)} | ${pct(utilisation(r.params, r.tokensPerSecond, r.squareMatmulFlops))} | ` +
      `${g(r.shapeMatmulFlops)} | ${pct(utilisation(r.params, r.tokensPerSecond, r.shapeMatmulFlops))} |`
    );
  });
  return [
    `backend: ${backend}`,
    '',
    '| preset | params | batch×seq | tokens/s | 6·N·tok/s GFLOP/s | matmul 512³ GFLOP/s | util (512³) | matmul model-shape GFLOP/s | util (shape) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The `bench` command: runs {@link BENCHMARK_CASES} and prints a Markdown table. */
export async function runBenchmark(options: {
  steps?: string;
  backend?: string;
  preset?: string;
}): Promise<BenchmarkResult[]> {
  const steps = parseNumberFlag('--steps', options.steps ?? '3', { integer: true, min: 1 });
  const cases = BENCHMARK_CASES.filter((c) => options.preset === undefined || c.preset === options.preset);
  if (cases.length === 0)
    throw new ConfigError(
      `flag --preset: expected one of ${BENCHMARK_CASES.map((c) => c.preset).join(', ')}, got ${JSON.stringify(options.preset)}`,
    );
  const backend = await selectBackend(parseField('backend', options.backend ?? 'auto', 'flag --backend'));
  const results: BenchmarkResult[] = [];
  for (const c of cases) {
    results.push(await benchmarkCase(c, steps));
    console.error(`benchmarked ${c.preset}`);
  }
  console.log(benchmarkTable(backend, results));
  return results;
}
