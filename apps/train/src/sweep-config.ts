/**
 * The sweep file of `andes-train sweep` and the plan it expands to: model widths grown from a base preset by the
 * width/depth rule of @andes/scaling, IsoFLOP points (several sizes per budget, D = C/6N), and for each point the
 * ordinary `pretrain` config of its run directory.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countParameters, llamaPreset } from '@andes/nn';
import { type GridPoint, isoflopGrid, type ModelShape, shapeForWidth } from '@andes/scaling';
import { ConfigError, parseConfigObject, resolveConfig, type TrainConfig, tokensPerStep } from './config.js';

/** A sweep file (JSON). */
export interface SweepConfig {
  /** Sweep directory: manifest.json, tokenizer.model, runs/<point>/, report/. */
  outDir: string;
  /** Preset whose shape the widths grow from (`nano`, `tiny`, …). */
  basePreset: string;
  /** Model widths (hidden_size); depth and heads follow the width/depth rule. */
  widths: number[];
  /** Compute budgets C = 6·N·D in FLOPs. */
  budgets: number[];
  /** Model sizes per budget. */
  perBudget: number;
  /** Each budget's sizes are centred on the size whose D/N is nearest this. */
  tokensPerParameter: number;
  /** Settings shared by every run (any `pretrain` config field except those the sweep sets per point). */
  train: Partial<TrainConfig>;
}

/** Fields the sweep sets for each point; a sweep file's `train` may not set them. */
const PER_POINT_FIELDS = ['preset', 'model', 'tokenBudget', 'steps', 'outDir', 'tokenizer'] as const;

/**
 * The default sweep: 5 budgets (1.7e10 … 2.72e11 FLOPs, ×2 apart) × 3 nano-shaped sizes (d = 32, 64, 96: 32K, 156K,
 * 465K parameters with the 512-token vocabulary) = 15 runs on the built-in stories, about 1.6e12 FLOPs in all, sized
 * to finish within 20 minutes on a 2-core CPU. The smallest run (d = 96 at the smallest budget) still gets 24 steps;
 * the largest budget is where d = 32 stops being the best size.
 */
export const DEFAULT_SWEEP: SweepConfig = {
  outDir: 'runs/scaling',
  basePreset: 'nano',
  widths: [32, 64, 96],
  budgets: [1.7e10, 3.4e10, 6.8e10, 1.36e11, 2.72e11],
  perBudget: 3,
  tokensPerParameter: 20,
  train: {
    vocabSize: 512,
    tokenizerBytes: 300_000,
    batchSize: 4,
    seqLen: 64,
    lr: 5e-3,
    minLr: 5e-4,
    warmupSteps: 5,
    evalBatches: 32,
    backend: 'auto',
  },
};

/** Settings of every sweep run that differ from `pretrain`'s defaults (no samples, final evaluation only). */
const SWEEP_RUN_DEFAULTS: Partial<TrainConfig> = {
  evalInterval: 0,
  sampleInterval: 0,
  prompts: [],
  keepLast: 1,
  logInterval: 25,
};

function positiveNumbers(value: unknown, where: string, integer: boolean): number[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new ConfigError(`${where}: expected a non-empty array of numbers, got ${JSON.stringify(value)}`);
  return value.map((v, i) => {
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v)))
      throw new ConfigError(`${where}[${i}]: expected a positive ${integer ? 'integer' : 'number'}, got ${v}`);
    return v;
  });
}

/** Validates a parsed sweep file over {@link DEFAULT_SWEEP}; errors name the file and field. */
export function parseSweepConfig(json: unknown, source = 'sweep config'): SweepConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ConfigError(`${source}: expected a JSON object, got ${JSON.stringify(json)}`);
  const out: SweepConfig = { ...DEFAULT_SWEEP, train: { ...DEFAULT_SWEEP.train } };
  for (const [key, value] of Object.entries(json)) {
    const where = `${source} field "${key}"`;
    switch (key) {
      case 'outDir':
      case 'basePreset':
        if (typeof value !== 'string' || value === '')
          throw new ConfigError(`${where}: expected a string, got ${JSON.stringify(value)}`);
        out[key] = value;
        break;
      case 'widths':
        out.widths = positiveNumbers(value, where, true);
        break;
      case 'budgets':
        out.budgets = positiveNumbers(value, where, false);
        break;
      case 'perBudget':
        out.perBudget = positiveNumbers([value], where, true)[0]!;
        break;
      case 'tokensPerParameter':
        out.tokensPerParameter = positiveNumbers([value], where, false)[0]!;
        break;
      case 'train': {
        const train = parseConfigObject(value, `${source} field "train"`);
        for (const field of PER_POINT_FIELDS)
          if (field in train)
            throw new ConfigError(`${source} field "train": "${field}" is set by the sweep for each point`);
        out.train = { ...out.train, ...train };
        break;
      }
      default:
        throw new ConfigError(
          `${source}: unknown field "${key}" (known: outDir, basePreset, widths, budgets, perBudget, tokensPerParameter, train)`,
        );
    }
  }
  if (out.perBudget > out.widths.length)
    throw new ConfigError(`${source}: perBudget ${out.perBudget} exceeds the ${out.widths.length} widths`);
  return out;
}

/** Reads and validates a sweep file. */
export function readSweepConfig(path: string): SweepConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`flag --config: cannot read ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
  try {
    return parseSweepConfig(JSON.parse(text), `sweep config ${path}`);
  } catch (err) {
    if (err instanceof SyntaxError) throw new ConfigError(`sweep config ${path}: not valid JSON: ${err.message}`);
    throw err;
  }
}

/** One planned run of a sweep. */
export interface SweepPoint extends GridPoint {
  /** Directory name under `<outDir>/runs/`. */
  id: string;
  /** Run directory. */
  runDir: string;
  /** The run's resolved `pretrain` config. */
  config: TrainConfig;
  /** Optimizer steps of the run. */
  steps: number;
}

/** Where the shared pieces of a sweep live. */
export function sweepPaths(outDir: string): { manifest: string; tokenizer: string; runs: string; report: string } {
  return {
    manifest: join(outDir, 'manifest.json'),
    tokenizer: join(outDir, 'tokenizer.model'),
    runs: join(outDir, 'runs'),
    report: join(outDir, 'report'),
  };
}

function baseShape(preset: string, vocab: number): ModelShape {
  let config: ReturnType<typeof llamaPreset>;
  try {
    config = llamaPreset(preset, { vocab_size: vocab });
  } catch (err) {
    throw new ConfigError(`sweep field "basePreset": ${(err as Error).message}`);
  }
  const { hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, num_key_value_heads } = config;
  return { hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, num_key_value_heads };
}

/**
 * Expands a sweep into its points. N counts every parameter with the sweep's nominal vocabulary (tied embeddings
 * count once: the LM head's matmul costs 2·d·V FLOPs per token, so the total is the count that 6·N·D prices).
 * Checkpoints every ~10% of a run unless `train.checkpointInterval` says otherwise.
 */
export function planSweep(sweep: SweepConfig): SweepPoint[] {
  const train = resolveConfig(SWEEP_RUN_DEFAULTS, sweep.train);
  const base = baseShape(sweep.basePreset, train.vocabSize);
  const models = sweep.widths.map((width) => {
    let shape: ModelShape;
    try {
      shape = shapeForWidth(base, width);
    } catch (err) {
      throw new ConfigError(`sweep field "widths": ${(err as Error).message}`);
    }
    const config = llamaPreset(sweep.basePreset, { ...shape, vocab_size: train.vocabSize });
    return { shape, params: countParameters(config).total };
  });
  let grid: GridPoint[];
  try {
    grid = isoflopGrid({
      budgets: sweep.budgets,
      models,
      perBudget: sweep.perBudget,
      tokensPerParameter: sweep.tokensPerParameter,
      tokenQuantum: tokensPerStep(train),
    });
  } catch (err) {
    throw new ConfigError(`sweep: ${(err as Error).message}`);
  }
  const { runs, tokenizer } = sweepPaths(sweep.outDir);
  const explicitInterval = sweep.train.checkpointInterval !== undefined;
  return grid.map((point) => {
    const c = point.flops.toExponential(1).replace('e+', 'e').replace('.0e', 'e');
    const id = `c${c}-d${point.model.shape.hidden_size}`;
    const runDir = join(runs, id);
    const steps = point.tokens / tokensPerStep(train);
    const config = resolveConfig(train, {
      preset: sweep.basePreset,
      model: { ...point.model.shape },
      tokenBudget: point.tokens,
      outDir: runDir,
      tokenizer,
      checkpointInterval: explicitInterval ? train.checkpointInterval : Math.max(1, Math.ceil(steps / 10)),
    });
    return { ...point, id, runDir, config, steps };
  });
}
