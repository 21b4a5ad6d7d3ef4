/**
 * The `andes-eval` command line: `tasks` and `perplexity` subcommands (commander).
 * @module
 */
import { type LoadDtype, WEIGHT_DTYPES } from '@andes/checkpoint';
import { commanderOutput, packageVersion } from '@andes/cli';
import { selectBackend } from '@andes/tensor';
import { writeFileAtomicSync } from '@andes/tensor/node';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type ModelSelection, resolveTasks, runPerplexity, runTasks } from './commands.js';
import {
  type EvalReport,
  renderJson,
  renderMarkdown,
  renderTerminalTable,
  reportTable,
  type TasksReport,
} from './report.js';

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}, got "${value}"`);
    return n;
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').filter((v) => v !== '')];
}

interface CommonFlags {
  model?: string[];
  server?: string[];
  serverModel?: string;
  batchSize?: number;
  lora?: string;
  dtype?: LoadDtype;
  backend?: 'cpu' | 'webgpu';
  json?: string;
  report?: string;
}

interface TasksFlags extends CommonFlags {
  tasks?: string[];
  shots: number;
  seed: number;
  limit?: number;
  builtinItems?: number;
  maxGenTokens: number;
  logSamples?: string;
  context?: number;
}

function withCommonOptions(command: Command): Command {
  return command
    .option(
      '--model <path>',
      'model directory, file.gguf or llama2.c model.bin (repeat or comma-separate for side-by-side models)',
      collect,
    )
    .option('--server <url>', 'OpenAI-compatible server supporting echo + logprobs (repeatable)', collect)
    .option('--server-model <name>', 'model name sent to --server (default: its first model)')
    .option('--lora <dir>', 'PEFT LoRA adapter: evaluate each --model also with it applied, side by side')
    .option('--batch-size <n>', 'rows per forward pass for local models', integer(1))
    .addOption(
      new Option(
        '--dtype <type>',
        "auto: keep, but F16/BF16 widened to float32 on the CPU; keep: a GGUF's half and quantized matrices stay in " +
          'their types (as llama.cpp computes); another type: every local matrix rounded through it at load',
      )
        .choices(['auto', 'keep', ...WEIGHT_DTYPES])
        .default('auto'),
    )
    .addOption(
      new Option('--backend <name>', 'compute backend (default: WebGPU if available, else CPU)').choices([
        'cpu',
        'webgpu',
      ]),
    )
    .option('--json <file>', 'write the results as JSON')
    .option('--report <file>', 'write a markdown report');
}

/** Moves the per-item samples out of the report into JSONL text (one line per model × item). */
function takeSamples(report: TasksReport): string {
  const lines: string[] = [];
  for (const { model, results } of report.models) {
    for (const result of results) {
      for (const sample of result.samples ?? []) lines.push(JSON.stringify({ model, task: result.task, ...sample }));
      delete result.samples;
    }
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** Where the CLI writes: the table to `stdout`, progress to `stderr`. */
export interface ProgramIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
}

async function prepare(flags: CommonFlags, io: ProgramIo): Promise<ModelSelection> {
  await selectBackend(flags.backend);
  return {
    models: flags.model,
    servers: flags.server,
    serverModel: flags.serverModel,
    batchSize: flags.batchSize,
    lora: flags.lora,
    dtype: flags.dtype,
    progress: io.stderr,
  };
}

function emit(report: EvalReport, flags: CommonFlags, io: ProgramIo): void {
  io.stdout.write(renderTerminalTable(reportTable(report)));
  if (flags.json) writeFileAtomicSync(flags.json, renderJson(report));
  if (flags.report) writeFileAtomicSync(flags.report, renderMarkdown(report));
}

/** Builds the `andes-eval` program; `parseAsync(argv)` runs it. */
export function createProgram(io: ProgramIo = { stdout: process.stdout, stderr: process.stderr }): Command {
  const program = new Command('andes-eval')
    .description('Evaluate LLaMA-style models as lm-evaluation-harness does: perplexity and zero/few-shot tasks.')
    .configureOutput(commanderOutput('andes-eval'))
    .version(packageVersion(import.meta.url), '-V, --version', 'print the version')
    .option('--verbose', 'print the stack trace of an error');

  withCommonOptions(
    program
      .command('tasks')
      .description('multiple-choice and generation tasks from JSONL files (default: the built-in story tasks)')
      .option('--tasks <files>', 'task JSONL files or built-in task names, comma-separated', collect)
      .option('--shots <k>', 'few-shot examples per item, from the task train split', integer(0), 0)
      .option('--seed <s>', 'seed of the few-shot draw', integer(0), 1234)
      .option('--limit <n>', 'evaluate only the first n items of each task', integer(1))
      .option('--builtin-items <n>', 'items per built-in task', integer(1))
      .option('--max-gen-tokens <n>', 'most tokens generated per generation item', integer(1), 32)
      .option('--context <n>', 'most input tokens per request (default: the model context length)', integer(1))
      .option('--log-samples <file>', 'write every item (prompt, choices, log-likelihoods, prediction) as JSONL'),
  ).action(async (flags: TasksFlags) => {
    const tasks = resolveTasks(flags.tasks, flags.builtinItems);
    const selection = await prepare(flags, io);
    const { shots, seed, limit, maxGenTokens, context } = flags;
    const report = await runTasks({
      ...selection,
      tasks,
      shots,
      seed,
      limit,
      maxGenTokens,
      logSamples: !!flags.logSamples,
      context,
    });
    if (flags.logSamples) writeFileAtomicSync(flags.logSamples, takeSamples(report));
    emit(report, flags, io);
  });

  withCommonOptions(
    program
      .command('perplexity')
      .description('token perplexity and bits per byte with rolling windows')
      .requiredOption(
        '--data <files>',
        'text files (one document each) or JSONL with a "text" field, comma-separated',
        collect,
      )
      .option('--context <n>', 'window length in tokens (default: the model context length)', integer(1))
      .option(
        '--stride <n>',
        'new tokens scored per window after the first (default: --context, disjoint)',
        integer(1),
      ),
  ).action(async (flags: CommonFlags & { data: string[]; context?: number; stride?: number }) => {
    if (flags.stride !== undefined && flags.context !== undefined && flags.stride > flags.context) {
      throw new Error(`--stride ${flags.stride} must not exceed --context ${flags.context}`);
    }
    const selection = await prepare(flags, io);
    emit(
      await runPerplexity({ ...selection, data: flags.data, context: flags.context, stride: flags.stride }),
      flags,
      io,
    );
  });
  return program;
}
