/**
 * The training run configuration: defaults, a JSON config file and command-line flags, merged in that order
 * and validated field by field so every bad value is reported with its field (or flag) name.
 *
 * @module
 */

import { CliError } from '@andes/cli';

/** Backends a run can ask for; `auto` lets @andes/tensor choose (ANDES_BACKEND, else WebGPU, else CPU). */
export type BackendChoice = 'auto' | 'webgpu' | 'cpu';

/** Everything a training run needs. JSON config files use these keys; flags are their kebab-case forms. */
export interface TrainConfig {
  /** Model preset name from @andes/nn (`tiny`, `stories-15m`, `llama-7b`, …). */
  preset: string;
  /** Overrides of LlamaConfig fields, Hugging Face names (`hidden_size`, `num_hidden_layers`, …). */
  model: Record<string, unknown>;
  /** Data: `stories` (the built-in synthetic story corpus), a path to a mixture JSON / text file, or a mixture object. */
  data: string | Record<string, unknown>;
  /** Bytes of training text the run's own BPE tokenizer is trained on. */
  tokenizerBytes: number;
  /** A saved tokenizer to use; empty: train a BPE tokenizer of `vocabSize` on the training data. */
  tokenizer: string;
  /** Vocabulary size of a tokenizer trained for this run. */
  vocabSize: number;
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Tokens per sequence. */
  seqLen: number;
  /** Micro-batches accumulated per optimizer step. */
  gradAccum: number;
  /** Peak learning rate. */
  lr: number;
  /** Learning rate at the end of the cosine decay. */
  minLr: number;
  /** Linear warmup steps. */
  warmupSteps: number;
  /** Steps of cosine decay after warmup; 0 decays over the whole run. */
  decaySteps: number;
  /** Decoupled AdamW weight decay. */
  weightDecay: number;
  /** AdamW β1. */
  beta1: number;
  /** AdamW β2. */
  beta2: number;
  /** Clip the global gradient norm to this value; 0 disables clipping. */
  gradClip: number;
  /** Optimizer steps. */
  steps: number;
  /** Training tokens; when positive it sets `steps` = ceil(tokenBudget / tokens per step). */
  tokenBudget: number;
  /** Stop (with a checkpoint) after this many seconds of training; 0 = no limit. Losses per step stay reproducible. */
  timeBudget: number;
  /** Evaluate validation loss every this many steps (and at the end); 0 = only at the end. */
  evalInterval: number;
  /** Validation batches per evaluation (fixed batches, drawn once from the held-out documents). */
  evalBatches: number;
  /** Fraction of documents held out for validation (by document hash). */
  validationFraction: number;
  /** Print a sample every this many steps; 0 = only at the end. */
  sampleInterval: number;
  /** Tokens generated per sample. */
  sampleTokens: number;
  /** Prompts for the samples. */
  prompts: string[];
  /** Save a training checkpoint every this many steps; 0 = only at the end (and on SIGINT). */
  checkpointInterval: number;
  /** Training checkpoints kept (the best by validation loss is kept as well). */
  keepLast: number;
  /** Print a progress line every this many steps when not on a terminal. */
  logInterval: number;
  /** Run directory: config.json, metrics.jsonl, loss.svg, tokenizer, checkpoints/, model/. */
  outDir: string;
  /** Seed of initialization, data order and sampling. */
  seed: number;
  /** Compute backend. */
  backend: BackendChoice;
}

/**
 * The defaults: `andes-train` with no arguments trains `tiny` on the built-in stories with these settings (plus a
 * time budget, {@link DEFAULT_RUN_TIME_BUDGET}). Tuned so a 2-core CPU with lavapipe WebGPU reaches a validation loss
 * under half the unigram cross-entropy in about five minutes: the validation loss crosses half of it after ~70 steps of 512 tokens,
 * and by step 200 (~100K tokens) it is about a sixth of it and the model starts to use its context (see README).
 */
export const DEFAULT_CONFIG: TrainConfig = {
  preset: 'tiny',
  model: {},
  data: 'stories',
  tokenizerBytes: 1_000_000,
  tokenizer: '',
  vocabSize: 512,
  batchSize: 8,
  seqLen: 64,
  gradAccum: 1,
  lr: 5e-3,
  minLr: 5e-4,
  warmupSteps: 10,
  decaySteps: 0,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 1,
  steps: 200,
  tokenBudget: 0,
  timeBudget: 0,
  evalInterval: 50,
  evalBatches: 8,
  validationFraction: 0.05,
  sampleInterval: 100,
  sampleTokens: 64,
  prompts: ['Once upon a time', 'One day, a boy named Tom', 'There once was a girl called'],
  checkpointInterval: 50,
  keepLast: 2,
  logInterval: 10,
  outDir: 'runs/default',
  seed: 1234,
  backend: 'auto',
};

/**
 * Seconds of training after which the no-argument default run stops, evaluates, saves and samples, however far it
 * got (a slow machine then still finishes in about five minutes; `andes-train resume runs/default` continues).
 */
export const DEFAULT_RUN_TIME_BUDGET = 270;

/** How one field is checked; `check` returns an explanation of what was expected, or undefined when fine. */
interface FieldRule {
  kind: 'int' | 'number' | 'string' | 'object' | 'data' | 'strings' | 'backend';
  check?: (v: number) => string | undefined;
}

const positive = (v: number) => (v > 0 ? undefined : 'a number > 0');
const nonNegative = (v: number) => (v >= 0 ? undefined : 'a number >= 0');
const atLeast = (min: number) => (v: number) => (v >= min ? undefined : `a number >= ${min}`);
const unitOpen = (v: number) => (v >= 0 && v < 1 ? undefined : 'a number in [0, 1)');
const fraction = (v: number) => (v > 0 && v < 1 ? undefined : 'a number in (0, 1)');

const RULES: Record<keyof TrainConfig, FieldRule> = {
  preset: { kind: 'string' },
  model: { kind: 'object' },
  data: { kind: 'data' },
  tokenizerBytes: { kind: 'int', check: atLeast(1000) },
  tokenizer: { kind: 'string' },
  vocabSize: { kind: 'int', check: atLeast(260) },
  batchSize: { kind: 'int', check: atLeast(1) },
  seqLen: { kind: 'int', check: atLeast(2) },
  gradAccum: { kind: 'int', check: atLeast(1) },
  lr: { kind: 'number', check: positive },
  minLr: { kind: 'number', check: nonNegative },
  warmupSteps: { kind: 'int', check: nonNegative },
  decaySteps: { kind: 'int', check: nonNegative },
  weightDecay: { kind: 'number', check: nonNegative },
  beta1: { kind: 'number', check: unitOpen },
  beta2: { kind: 'number', check: unitOpen },
  gradClip: { kind: 'number', check: nonNegative },
  steps: { kind: 'int', check: atLeast(1) },
  tokenBudget: { kind: 'number', check: nonNegative },
  timeBudget: { kind: 'number', check: nonNegative },
  evalInterval: { kind: 'int', check: nonNegative },
  evalBatches: { kind: 'int', check: atLeast(1) },
  validationFraction: { kind: 'number', check: fraction },
  sampleInterval: { kind: 'int', check: nonNegative },
  sampleTokens: { kind: 'int', check: atLeast(1) },
  prompts: { kind: 'strings' },
  checkpointInterval: { kind: 'int', check: nonNegative },
  keepLast: { kind: 'int', check: atLeast(1) },
  logInterval: { kind: 'int', check: atLeast(1) },
  outDir: { kind: 'string' },
  seed: { kind: 'int', check: nonNegative },
  backend: { kind: 'backend' },
};

/** Names of all config fields, in declaration order. */
export const CONFIG_FIELDS = Object.keys(RULES) as (keyof TrainConfig)[];

/** A bad config field or flag; the message names it and the bad value. */
export class ConfigError extends CliError {
  override name = 'ConfigError';
}

/** camelCase field → its command-line flag, e.g. `batchSize` → `--batch-size`. */
export function flagName(field: string): string {
  return `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
}

/**
 * Checks one value for a field. `fromFlag` values are strings from the command line and are converted first.
 * Throws {@link ConfigError} naming `where` (e.g. `flag --lr` or `config field "lr"`) and the bad value.
 */
export function parseField<K extends keyof TrainConfig>(field: K, value: unknown, where: string): TrainConfig[K] {
  const rule = RULES[field];
  const fail = (expected: string): never => {
    throw new ConfigError(`${where}: expected ${expected}, got ${describe(value)}`);
  };
  const fromFlag = where.startsWith('flag');
  switch (rule.kind) {
    case 'int':
    case 'number': {
      const n = fromFlag && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) return fail(rule.kind === 'int' ? 'an integer' : 'a number');
      if (rule.kind === 'int' && !Number.isInteger(n)) return fail('an integer');
      const problem = rule.check?.(n);
      if (problem) return fail(problem);
      return n as TrainConfig[K];
    }
    case 'string':
      if (typeof value !== 'string') return fail('a string');
      return value as TrainConfig[K];
    case 'backend':
      if (value !== 'auto' && value !== 'webgpu' && value !== 'cpu') return fail('one of "auto", "webgpu", "cpu"');
      return value as TrainConfig[K];
    case 'strings': {
      if (fromFlag && typeof value === 'string') return [value] as TrainConfig[K];
      if (!Array.isArray(value) || value.some((p) => typeof p !== 'string')) return fail('an array of strings');
      return value as TrainConfig[K];
    }
    case 'object':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('an object');
      return value as TrainConfig[K];
    case 'data':
      if (typeof value === 'string' && value !== '') return value as TrainConfig[K];
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as TrainConfig[K];
      return fail('"stories", a file path or a mixture object');
  }
}

/** Validates a parsed JSON config (any subset of {@link TrainConfig}); unknown keys are errors (typos). */
export function parseConfigObject(json: unknown, source = 'config'): Partial<TrainConfig> {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ConfigError(`${source}: expected a JSON object, got ${describe(json)}`);
  const out: Partial<TrainConfig> = {};
  for (const [key, value] of Object.entries(json)) {
    if (!(key in RULES)) {
      throw new ConfigError(`${source}: unknown field "${key}" (known fields: ${CONFIG_FIELDS.join(', ')})`);
    }
    const field = key as keyof TrainConfig;
    (out as Record<string, unknown>)[field] = parseField(field, value, `${source} field "${key}"`);
  }
  return out;
}

/**
 * Parses `--model key=value` overrides into LlamaConfig fields. Values are JSON when they parse as JSON
 * (numbers, booleans, null), strings otherwise.
 */
export function parseModelOverrides(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new ConfigError(`flag --model: expected key=value (e.g. hidden_size=128), got ${describe(pair)}`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the string
    }
    out[key] = value;
  }
  return out;
}

/** Merges defaults, config-file values and flag values (later wins; `model` overrides merge key by key). */
export function resolveConfig(...layers: Partial<TrainConfig>[]): TrainConfig {
  const config: TrainConfig = { ...DEFAULT_CONFIG, model: {} };
  for (const layer of layers) {
    const { model, ...rest } = layer;
    Object.assign(config, rest);
    if (model) config.model = { ...config.model, ...model };
  }
  if (config.minLr > config.lr)
    throw new ConfigError(`config: minLr (${config.minLr}) must not exceed lr (${config.lr})`);
  return config;
}

/** Tokens consumed per optimizer step: batchSize · seqLen · gradAccum. */
export function tokensPerStep(config: TrainConfig): number {
  return config.batchSize * config.seqLen * config.gradAccum;
}

/** Optimizer steps of the run: from `tokenBudget` when set, else `steps`. */
export function totalSteps(config: TrainConfig): number {
  return config.tokenBudget > 0 ? Math.ceil(config.tokenBudget / tokensPerStep(config)) : config.steps;
}
