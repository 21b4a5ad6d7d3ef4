/**
 * The `andes-train finetune` flags as a validated, JSON-able config (saved as `finetune.json` in the run directory
 * so `--resume` continues with the same settings).
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTRUCTION_FORMATS, type InstructionFormat } from '@andes/data';
import { LORA_LLAMA_TARGETS } from '@andes/nn';
import type { ChatTemplateName } from '@andes/tokenizer';
import { ConfigError } from './config.js';
import { parseNumberFlag } from './number-flag.js';

/** The built-in data set name accepted by `--data`. */
export const BUILTIN_STORY_INSTRUCT = 'builtin:story-instruct';

/** Everything a fine-tuning run needs. */
export interface FinetuneConfig {
  /** Base model directory (or run directory with `model/`). */
  model: string;
  /** Instruction data file, or `builtin:story-instruct`. */
  data: string;
  /** Format of `data`. */
  format: InstructionFormat;
  /** Chat template; null: the model directory's, else llama-2. */
  template: ChatTemplateName | null;
  /** Run directory. */
  out: string;
  /** Optimizer steps. */
  steps: number;
  /** Examples per step. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Linear warmup steps. */
  warmupSteps: number;
  /** AdamW weight decay. */
  weightDecay: number;
  /** LoRA rank; 0: full fine-tuning. */
  loraR: number;
  /** LoRA alpha. */
  loraAlpha: number;
  /** LoRA target modules. */
  loraTargets: string[];
  /** LoRA dropout. */
  loraDropout: number;
  /** Also write `merged/`, a full model directory with the adapters folded in. */
  merge: boolean;
  /** Fraction of examples held out. */
  validationFraction: number;
  /** Held-out loss every N steps (0: at the end). */
  evalInterval: number;
  /** Checkpoint every N steps (0: at the end). */
  checkpointInterval: number;
  /** Training checkpoints kept. */
  keepLast: number;
  /** Examples of `builtin:story-instruct`. */
  examples: number;
  /** Stop after this many seconds (0: no limit). */
  timeBudget: number;
  /** Seed of adapters, shuffling and dropout. */
  seed: number;
  /** auto, webgpu or cpu. */
  backend: 'auto' | 'webgpu' | 'cpu';
}

const TEMPLATE_NAMES: Record<string, ChatTemplateName> = {
  llama2: 'llama-2',
  'llama-2': 'llama-2',
  alpaca: 'alpaca',
  vicuna: 'vicuna',
  chatml: 'chatml',
};

/** The flags as commander hands them over (strings). */
export type FinetuneFlags = Partial<Record<keyof FinetuneConfig, string | boolean>>;

function str(flags: FinetuneFlags, key: keyof FinetuneConfig): string | undefined {
  const v = flags[key];
  return typeof v === 'string' ? v : undefined;
}

/** Validates the flags; every error names the flag. */
export function finetuneConfigFromFlags(flags: FinetuneFlags): FinetuneConfig {
  const need = (key: keyof FinetuneConfig, flag: string) => {
    const v = str(flags, key);
    if (v === undefined || v === '') throw new ConfigError(`finetune: ${flag} is required`);
    return v;
  };
  const num = (
    key: keyof FinetuneConfig,
    flag: string,
    fallback: string,
    rule: Parameters<typeof parseNumberFlag>[2],
  ) => parseNumberFlag(flag, str(flags, key) ?? fallback, rule);
  const data = need('data', '--data');
  const formatText = str(flags, 'format') ?? (data === BUILTIN_STORY_INSTRUCT ? 'chat-jsonl' : undefined);
  if (formatText === undefined)
    throw new ConfigError(`finetune: --format is required (${INSTRUCTION_FORMATS.join(', ')})`);
  if (!INSTRUCTION_FORMATS.includes(formatText as InstructionFormat)) {
    throw new ConfigError(
      `flag --format: expected one of ${INSTRUCTION_FORMATS.join(', ')}, got ${JSON.stringify(formatText)}`,
    );
  }
  const templateText = str(flags, 'template');
  const template = templateText === undefined ? null : (TEMPLATE_NAMES[templateText] ?? null);
  if (templateText !== undefined && template === null) {
    throw new ConfigError(
      `flag --template: expected llama2, alpaca, vicuna or chatml, got ${JSON.stringify(templateText)}`,
    );
  }
  const loraR = num('loraR', '--lora-r', '0', { integer: true, min: 0 });
  const targets = (str(flags, 'loraTargets') ?? 'q_proj,v_proj')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const allowed = [...LORA_LLAMA_TARGETS, 'lm_head'];
  const unknown = targets.filter((t) => !allowed.includes(t));
  if (unknown.length > 0 || targets.length === 0) {
    throw new ConfigError(
      `flag --lora-targets: unknown module ${JSON.stringify(unknown[0] ?? '')} (${allowed.join(', ')})`,
    );
  }
  const merge = flags.merge === true;
  if (merge && loraR === 0) throw new ConfigError('flag --merge: needs LoRA (--lora-r ≥ 1)');
  const backend = str(flags, 'backend') ?? 'auto';
  if (backend !== 'auto' && backend !== 'webgpu' && backend !== 'cpu') {
    throw new ConfigError(`flag --backend: expected auto, webgpu or cpu, got ${JSON.stringify(backend)}`);
  }
  return {
    model: need('model', '--model'),
    data,
    format: formatText as InstructionFormat,
    template,
    out: need('out', '--out'),
    steps: num('steps', '--steps', '200', { integer: true, min: 1 }),
    batchSize: num('batchSize', '--batch-size', '8', { integer: true, min: 1 }),
    lr: num('lr', '--lr', loraR > 0 ? '2e-3' : '3e-4', { min: 0, exclusiveMin: true }),
    warmupSteps: num('warmupSteps', '--warmup-steps', '10', { integer: true, min: 0 }),
    weightDecay: num('weightDecay', '--weight-decay', '0', { min: 0 }),
    loraR,
    loraAlpha: num('loraAlpha', '--lora-alpha', String(2 * Math.max(loraR, 1)), { min: 0, exclusiveMin: true }),
    loraTargets: targets,
    loraDropout: num('loraDropout', '--lora-dropout', '0.05', { min: 0, max: 0.99 }),
    merge,
    validationFraction: num('validationFraction', '--validation-fraction', '0.1', {
      min: 0,
      max: 0.5,
      exclusiveMin: true,
    }),
    evalInterval: num('evalInterval', '--eval-interval', '50', { integer: true, min: 0 }),
    checkpointInterval: num('checkpointInterval', '--checkpoint-interval', '50', { integer: true, min: 0 }),
    keepLast: num('keepLast', '--keep-last', '2', { integer: true, min: 1 }),
    examples: num('examples', '--examples', '3000', { integer: true, min: 10 }),
    timeBudget: num('timeBudget', '--time-budget', '0', { min: 0 }),
    seed: num('seed', '--seed', '0', { integer: true, min: 0 }),
    backend,
  };
}

/** The config of an existing fine-tuning run (`OUT/finetune.json`), for `--resume`. */
export function readFinetuneConfig(out: string): FinetuneConfig {
  const path = join(out, 'finetune.json');
  if (!existsSync(path)) throw new ConfigError(`finetune --resume: ${JSON.stringify(out)} has no finetune.json`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as FinetuneConfig;
  } catch (err) {
    throw new ConfigError(`finetune --resume: ${path} is not valid JSON: ${(err as Error).message}`);
  }
}
