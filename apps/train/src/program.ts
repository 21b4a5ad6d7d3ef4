/**
 * The `andes-train` commands and their flags: argument parsing only; each command lives in its own module.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { commanderOutput, packageVersion } from '@andes/cli';
import { Command, Option } from 'commander';
import {
  CONFIG_FIELDS,
  ConfigError,
  DEFAULT_CONFIG,
  DEFAULT_RUN_TIME_BUDGET,
  flagName,
  parseConfigObject,
  parseField,
  parseModelOverrides,
  resolveConfig,
  type TrainConfig,
} from './config.js';
import { addFinetuneCommand } from './finetune-command.js';
import { runPlanCommand } from './plan-command.js';
import { registerScalingCommands } from './scaling-commands.js';

/** One-line help of each config flag. */
const FLAG_HELP: Partial<Record<keyof TrainConfig, string>> = {
  preset: 'model preset (tiny, stories-15m, llama-7b, …)',
  data: '"stories" (built-in corpus), a mixture JSON file or a text file',
  tokenizerBytes: 'bytes of training text the tokenizer is trained on',
  tokenizer: 'saved tokenizer to use (default: train one on the data)',
  vocabSize: 'vocabulary size of the trained tokenizer',
  batchSize: 'sequences per micro-batch',
  seqLen: 'tokens per sequence',
  gradAccum: 'micro-batches accumulated per step',
  lr: 'peak learning rate',
  minLr: 'final learning rate of the cosine decay',
  warmupSteps: 'linear warmup steps',
  decaySteps: 'cosine decay steps after warmup (0: to the end)',
  weightDecay: 'AdamW weight decay',
  beta1: 'AdamW beta1',
  beta2: 'AdamW beta2',
  gradClip: 'global gradient-norm clip (0: off)',
  steps: 'optimizer steps',
  tokenBudget: 'training tokens (overrides --steps)',
  timeBudget: 'stop after this many seconds (0: no limit)',
  evalInterval: 'validation every N steps (0: at the end)',
  evalBatches: 'validation batches per evaluation',
  validationFraction: 'fraction of documents held out for validation',
  sampleInterval: 'print a sample every N steps (0: at the end)',
  sampleTokens: 'tokens per sample',
  checkpointInterval: 'checkpoint every N steps (0: at the end)',
  keepLast: 'training checkpoints to keep',
  logInterval: 'progress line every N steps without a terminal',
  outDir: 'run directory',
  seed: 'random seed',
  backend: 'auto, webgpu or cpu',
};

/** Flags that do not map one-to-one on a config field. */
const SPECIAL_FIELDS = new Set<keyof TrainConfig>(['model', 'prompts']);

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Reads and validates a JSON config file. */
export function readConfigFile(path: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`flag --config: cannot read ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config ${path}: not valid JSON: ${(err as Error).message}`);
  }
  return parseConfigObject(json, `config ${path}`);
}

/** Turns commander's parsed `pretrain` options into a validated config (defaults ← --config file ← flags). */
export function configFromOptions(options: Record<string, unknown>): TrainConfig {
  const fromFile = typeof options.config === 'string' ? readConfigFile(options.config) : {};
  const fromFlags: Partial<TrainConfig> = {};
  for (const field of CONFIG_FIELDS) {
    if (SPECIAL_FIELDS.has(field) || options[field] === undefined) continue;
    (fromFlags as Record<string, unknown>)[field] = parseField(field, options[field], `flag ${flagName(field)}`);
  }
  if (Array.isArray(options.model)) fromFlags.model = parseModelOverrides(options.model as string[]);
  if (Array.isArray(options.prompt)) fromFlags.prompts = options.prompt as string[];
  return resolveConfig(fromFile, fromFlags);
}

/** Builds the commander program. `andes-train` alone trains the default run. */
export function buildProgram(): Command {
  const program = new Command('andes-train')
    .description(
      'Pretrain LLaMA-style models with Andes. Without a command: train `tiny` on the built-in stories into ' +
        `runs/default (the pretrain defaults with --time-budget ${DEFAULT_RUN_TIME_BUDGET}).`,
    )
    .configureOutput(commanderOutput('andes-train'))
    .version(packageVersion(import.meta.url), '-V, --version', 'print the version')
    .option('--verbose', 'print the stack trace of an error')
    // On the program, not on `pretrain`: commander gives a program option to the program wherever it appears.
    .option('--overwrite', 'replace an earlier run in the run directory (default run and pretrain)')
    .action(async () => {
      const { runPretrain } = await import('./pretrain.js');
      await runPretrain(resolveConfig({ timeBudget: DEFAULT_RUN_TIME_BUDGET }), { overwrite: overwrite() });
    });
  const overwrite = () => program.opts().overwrite === true;

  const pretrain = program
    .command('pretrain')
    .description('train a model from a JSON config and/or flags (--overwrite replaces an earlier run in --out-dir)')
    .option('--config <file>', 'JSON config file (keys as in the flags, camelCase)')
    .option('--model <key=value>', 'override a LlamaConfig field, e.g. hidden_size=256 (repeatable)', collect)
    .option('--prompt <text>', 'sample prompt (repeatable)', collect);
  for (const field of CONFIG_FIELDS) {
    if (SPECIAL_FIELDS.has(field)) continue;
    // Defaults go in the help text only: a commander default would override the --config file.
    const help = `${FLAG_HELP[field] ?? field} (default: ${JSON.stringify(DEFAULT_CONFIG[field])})`;
    pretrain.addOption(new Option(`${flagName(field)} <value>`, help));
  }
  pretrain.action(async (options: Record<string, unknown>) => {
    const config = configFromOptions(options);
    const { runPretrain } = await import('./pretrain.js');
    await runPretrain(config, { overwrite: overwrite() });
  });

  program
    .command('resume')
    .description('continue a run from its latest checkpoint')
    .argument('<dir>', 'run directory')
    .option('--time-budget <seconds>', 'stop after this many seconds (0: no limit)')
    .action(async (dir: string, options: { timeBudget?: string }) => {
      const timeBudget =
        options.timeBudget === undefined
          ? undefined
          : parseField('timeBudget', options.timeBudget, 'flag --time-budget');
      const { runResume } = await import('./pretrain.js');
      await runResume(dir, timeBudget);
    });

  program
    .command('plan')
    .description('Chinchilla numbers: compute-optimal tokens, 6·N·D FLOPs, predicted loss, over-training, time')
    .option('--params <count>', 'parameter count, e.g. 7e9')
    .option('--preset <name>', 'model preset instead of --params (llama-7b, stories-15m, …)')
    .option('--tokens <count>', 'training tokens (default: compute-optimal 20 per parameter)')
    .option('--throughput <flops>', 'sustained FLOP/s, to estimate the training time')
    .option('--manifest <path>', 'shard manifest (or its directory): add the per-source data table')
    .option('--json', 'print JSON')
    .action((options) => {
      runPlanCommand(options);
    });

  program
    .command('prepare')
    .description('clean and tokenize a mixture into pre-tokenized shards with a manifest (or --merge slices)')
    .option('--mixture <file>', 'mixture JSON (sources with optional "filters")')
    .option('--tokenizer <file>', 'tokenizer.model or tokenizer.json to tokenize with')
    .option('--out <dir>', 'output directory for shards and manifest.json')
    .option('--shard <i/N>', 'prepare only slice i of N of the input files (one batch job each)')
    .option('--merge', "join the slices' manifests in --out into manifest.json")
    .option('--workers <n>', 'tokenizer worker threads (default: cores − 1, at least 1)')
    .option('--shard-tokens <n>', 'tokens per shard file (default 134217728)')
    .action(async (options) => {
      const { runPrepareCommand } = await import('./prepare-command.js');
      await runPrepareCommand(options);
    });

  program
    .command('sample')
    .description('generate text from a saved model (directory, run directory, file.gguf or llama2.c model.bin)')
    .argument('[dir]', 'model directory, or a run directory containing model/ (or use --model)')
    .option('--model <path>', 'model: directory, file.gguf or llama2.c model.bin (tokenizer.bin beside it)')
    .option(
      '--dtype <type>',
      "auto (default: keep, but F16/BF16 widened to float32 on the CPU) | keep (a GGUF's half and quantized " +
        'matrices stay in their types) | f32 | f16 | bf16 | q8_0 | q4_0 (every matrix rounded through it at load)',
    )
    .option('--prompt <text>', 'prompt', '')
    .option('--max-new-tokens <n>', 'tokens to generate', '128')
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', '0.8')
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', '0')
    .option('--top-p <p>', 'nucleus sampling mass (1 = off)', '0.95')
    .option('--seed <n>', 'sampling seed', '0')
    .option('--backend <name>', 'auto, webgpu or cpu', 'auto')
    .action(async (dir: string | undefined, options: Record<string, string>) => {
      const { runSample } = await import('./sample.js');
      const path = options.model ?? dir;
      if (path === undefined) throw new ConfigError('sample: give a model: andes-train sample <dir> or --model <path>');
      await runSample(path, options);
    });

  program
    .command('tune')
    .description("pre-tune the WebGPU kernels of a preset's shapes on this adapter (cached under ANDES_CACHE_DIR)")
    .option('--preset <name>', 'model preset (tiny, stories-15m, stories-110m, …)')
    .option('--batch-size <n>', 'sequences per step', '8')
    .option('--seq-len <n>', 'tokens per sequence', '256')
    .option('--vocab-size <n>', 'vocabulary size for presets sized by their tokenizer')
    .option('--inference', 'forward and decode shapes only (no backward products)')
    .option('--force', 'time again even when the cache has a winner')
    .option('--backend <name>', 'auto, webgpu or cpu', 'auto')
    .action(async (options: Record<string, string>) => {
      const { runTuneCommand } = await import('./tune-command.js');
      await runTuneCommand(options);
    });

  program
    .command('bench')
    .description('training throughput and utilisation of `tiny` and `stories-15m` on the current backend')
    .option('--steps <n>', 'timed steps per model', '3')
    .option('--preset <name>', 'only this case (tiny or stories-15m)')
    .option('--backend <name>', 'auto, webgpu or cpu', 'auto')
    .action(async (options: Record<string, string>) => {
      const { runBenchmark } = await import('./benchmark.js');
      await runBenchmark(options);
    });
  registerScalingCommands(program);
  addFinetuneCommand(program);
  return program;
}

/** Parses `argv` and runs the command; errors propagate (the bin prints them with `@andes/cli`'s `runMain`). */
export async function main(argv: string[] = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}
