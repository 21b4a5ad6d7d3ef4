/**
 * `andes-train plan`: Chinchilla numbers for a parameter count or a named preset.
 *
 * @module
 */
import { countParameters, llamaPreset } from '@andes/nn';
import { ConfigError } from './config.js';
import { dataPlan, formatDataTable, readManifestSync } from './data-table.js';
import { formatPlan, planTraining, type TrainingPlan } from './plan.js';

/** Options of {@link runPlanCommand}, as strings from the command line. */
export interface PlanCommandOptions {
  params?: string;
  preset?: string;
  tokens?: string;
  throughput?: string;
  /** Shard manifest (file or directory): adds the per-source data table. */
  manifest?: string;
  json?: boolean;
}

/** Vocabulary assumed for presets whose vocabulary comes from a tokenizer (`tiny`, `nano`, `small`). */
const PLAN_DEFAULT_VOCAB = 1024;

function parsePositive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new ConfigError(`flag ${flag}: expected a positive number (e.g. 7e9), got ${JSON.stringify(value)}`);
  return n;
}

/** Parameter count of a named preset (tokenizer-sized presets assume a 1024-token vocabulary). */
export function presetParameters(name: string): number {
  let config: ReturnType<typeof llamaPreset>;
  try {
    config = llamaPreset(name);
  } catch (err) {
    if (!/vocab_size/.test((err as Error).message)) throw new ConfigError(`flag --preset: ${(err as Error).message}`);
    config = llamaPreset(name, { vocab_size: PLAN_DEFAULT_VOCAB });
  }
  return countParameters(config).total;
}

/** Computes the plan for the command's options; prints it (text, or JSON with `--json`) through `print`. */
export function runPlanCommand(options: PlanCommandOptions, print: (line: string) => void = console.log): TrainingPlan {
  if (options.params !== undefined && options.preset !== undefined)
    throw new ConfigError('plan: give either --params or --preset, not both');
  let params = parsePositive('--params', options.params);
  if (options.preset !== undefined) params = presetParameters(options.preset);
  if (params === undefined) throw new ConfigError('plan: missing --params <count> or --preset <name>');
  const input = { params } as { params: number; tokens?: number; throughput?: number };
  const tokens = parsePositive('--tokens', options.tokens);
  const throughput = parsePositive('--throughput', options.throughput);
  if (tokens !== undefined) input.tokens = tokens;
  if (throughput !== undefined) input.throughput = throughput;
  const plan = planTraining(input);
  const data = options.manifest === undefined ? undefined : dataPlan(readManifestSync(options.manifest), plan.tokens);
  if (options.json) print(JSON.stringify(data === undefined ? plan : { ...plan, data }, null, 2));
  else print(formatPlan(plan, options.preset) + (data === undefined ? '' : `\n${formatDataTable(data, plan.tokens)}`));
  return plan;
}
