/**
 * `andes-serve`: parses flags, picks the compute backend, starts listening at once (503 until the model has
 * loaded), and shuts down gracefully on SIGTERM/SIGINT.
 *
 * @module
 */
import { basename, resolve } from 'node:path';
import { isLoadDtype, type LoadDtype } from '@andes/checkpoint';
import { CliError, commanderOutput, formatCliError, isVerbose, packageVersion, userMessage } from '@andes/cli';
import { getBackend, selectBackend } from '@andes/tensor';
import { Command, InvalidArgumentError } from 'commander';
import { dryRunReport, heldWeights } from './dry-run.js';
import { KV_DTYPE_NAMES, type KvDtype } from './llama-engine.js';
import { CHAT_TEMPLATE_NAMES, type ChatTemplateName, DEFAULT_HELPER_NICE, loadServedModel } from './model-loader.js';
import { isWarmUpMode, WARM_UP_MODES, type WarmUpMode } from './operations.js';
import { DEFAULT_PREFILL_CHUNK } from './prefill-budget.js';
import type { PrefillFirstPolicy } from './prefill-first.js';
import { DEFAULT_REFILL_WAIT_MS } from './scheduler-options.js';
import { createServer } from './server.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer ≥ 0, got '${value}'`);
  return n;
}

function niceLevels(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 19)
    throw new InvalidArgumentError(`expected 0–19 nice levels, got '${value}'`);
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`expected a port 0-65535, got '${value}'`);
  return n;
}

function prefillFirstPolicy(value: string): PrefillFirstPolicy {
  if (value === 'always') return true;
  if (value === 'adaptive') return value;
  if (value === 'off') return false;
  throw new InvalidArgumentError(`expected always, adaptive or off, got '${value}'`);
}

function weightDtype(value: string): LoadDtype {
  if (isLoadDtype(value)) return value;
  throw new InvalidArgumentError(`expected auto, keep, f32, f16, bf16, q8_0 or q4_0, got '${value}'`);
}

function warmUpMode(value: string): WarmUpMode {
  if (isWarmUpMode(value)) return value;
  throw new InvalidArgumentError(`expected ${WARM_UP_MODES.join(' | ')}, got '${value}'`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Options after parsing. */
export interface CliOptions {
  model: string;
  host: string;
  port: number;
  apiKey?: string;
  maxBatch: number;
  maxQueue: number;
  context?: number;
  chatTemplate?: ChatTemplateName;
  modelName?: string;
  /** PEFT LoRA adapter directory applied at load. */
  lora?: string;
  kvMemory?: number;
  /** `--kv-dtype`: f32 | f16 | bf16. */
  kvDtype?: string;
  prefillChunk: number;
  targetStepMs: number;
  /**
   * `--prefill-first` alone or `always`: true; `adaptive`: adaptive; `off`: false; absent: the scheduler's default
   * (see `SchedulerOptions.prefillFirst`).
   */
  prefillFirst?: PrefillFirstPolicy;
  /** `--cut-in`: true, `--no-cut-in`: false; absent: the backend's default (see `LoadServedModelOptions.cutIns`). */
  cutIn?: boolean;
  /** `--refill-wait`: milliseconds; absent: the scheduler's default (see `SchedulerOptions.refillWaitMs`). */
  refillWait?: number;
  /** `--warm-up`: auto | sizes | short. */
  warmUp: WarmUpMode;
  backend?: 'cpu' | 'webgpu';
  bodyLimit: number;
  /** `--dtype`: auto (the default), keep, or a type every matrix is rounded through at load. */
  dtype: LoadDtype;
  dryRun?: boolean;
  rateLimit?: number;
  rateBurst?: number;
  logLevel: string;
  drainSeconds: number;
  prefixCache: number;
  /** `--no-partial-prefix`: false (share whole cached blocks only). */
  partialPrefix: boolean;
  /** Absent: {@link defaultEngineWorkers} of the backend. */
  engineWorkers?: number;
  /** Nice levels of the engine workers' threads below the main thread's (`LoadServedModelOptions.computeNice`). */
  computeNice: number;
  /** Nice levels of the CPU helper threads below their engine worker; absent: `DEFAULT_HELPER_NICE`. */
  helperNice?: number;
}

/**
 * Engine workers when `--engine-workers` is not given: 1 on the CPU backend, whose steps are synchronous WebAssembly
 * that would otherwise hold the event loop (measured: more tokens per CPU-second and a lower TTFT p95 at 16 clients,
 * the same at 1 client; see apps/serve/BENCHMARKS.md); 0 on WebGPU, whose steps already wait off the event loop.
 */
export function defaultEngineWorkers(backend: string): number {
  return backend === 'cpu' ? 1 : 0;
}

/** The commander program (exported for `--help` tests). */
export function buildProgram(): Command {
  return new Command('andes-serve')
    .description('Serve an Andes model over the OpenAI API with continuous batching.')
    .configureOutput(commanderOutput('andes-serve'))
    .version(packageVersion(import.meta.url), '-V, --version', 'print the version')
    .option('--verbose', 'print the stack trace of an error')
    .requiredOption(
      '--model <path>',
      'model: Hugging Face directory, file.gguf or llama2.c model.bin (tokenizer.bin beside it)',
    )
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', port, 8080)
    .option('--api-key <key>', 'require `Authorization: Bearer <key>` on /v1 routes')
    .option('--max-batch <n>', 'sequences decoded together (the largest batch)', positiveInt, 16)
    .option('--max-queue <n>', 'requests waiting for admission before 429', positiveInt, 256)
    .option('--context <n>', 'positions per sequence (default: the model’s max_position_embeddings)', positiveInt)
    .option(
      '--chat-template <name>',
      `chat template: ${CHAT_TEMPLATE_NAMES.join(' | ')} (default: tokenizer_config.json)`,
    )
    .option('--lora <dir>', 'PEFT LoRA adapter directory, applied (merged) at load')
    .option('--model-name <id>', 'model id clients use (default: the directory name)')
    .option(
      '--kv-memory <MiB>',
      'KV-cache memory budget: the paged pool gets as many blocks as fit (default: max-batch full contexts)',
      positiveInt,
    )
    .option(
      '--kv-dtype <type>',
      'KV-cache element type: f32 | f16 | bf16 (a half type holds twice the positions in the same memory)',
      'f32',
    )
    .option(
      '--prefill-chunk <n>',
      'most prompt tokens prefilled between two decode steps',
      positiveInt,
      DEFAULT_PREFILL_CHUNK,
    )
    .option(
      '--target-step-ms <ms>',
      'a step with prefill should take about this long: its prompt tokens are sized from measured step times (0: off)',
      nonNegativeInt,
      100,
    )
    .option(
      '--prefill-first [policy]',
      'run new prompts in a step of their own before the running decodes (lower TTFT, longer inter-token gaps): ' +
        'always (never two such steps in a row; what the flag alone means) | adaptive (while the decodes wait at most ' +
        'three decode steps and no request waits for a slot; the default where the engine steps on the main thread: ' +
        'WebGPU, --engine-workers 0) | off (prompts always beside the decodes; the default with engine workers)',
      prefillFirstPolicy,
    )
    .option(
      '--warm-up <mode>',
      'what runs before /ready: sizes (a step of every size class of rows and sequences a request can meet, so no ' +
        'kernel compiles or autotunes inside a request) | short (one short sequence: a faster start) | auto (sizes on ' +
        'WebGPU, short on the CPU backend, which compiles nothing)',
      warmUpMode,
      'auto',
    )
    .option(
      '--cut-in',
      'run prompts that arrive during a step between its layers, so a new prompt waits for one layer of the ' +
        'running batch instead of the rest of its step (default: on with one engine worker on the CPU backend, off ' +
        "on WebGPU, where a cut-in's rows join the step's output projection but its layers cost a forward of their own)",
    )
    .option('--no-cut-in', 'no cut-ins: prompts arriving during a step wait for the next step')
    .option(
      '--refill-wait <ms>',
      'after sequences end, the next step waits up to ms for the requests their clients send next, while most ' +
        'recent ends were followed that soon (clients keeping requests in flight), so those prompts join it instead ' +
        'of waiting a whole step (at most a quarter of a step; default ' +
        `${DEFAULT_REFILL_WAIT_MS} where the engine steps on the main thread, as on WebGPU, else 0; 0: off)`,
      nonNegativeInt,
    )
    .option('--backend <name>', 'cpu | webgpu (default: ANDES_BACKEND, else WebGPU if available)')
    .option(
      '--engine-workers <n>',
      'run the model in n worker threads (0: on the main thread; 2+: data-parallel replicas, each with its own KV ' +
        'cache; default: 1 on the CPU backend, 0 on WebGPU)',
      nonNegativeInt,
    )
    .option(
      '--compute-nice <n>',
      'lower the engine workers’ threads (and their CPU helper threads) by n nice levels, 0–19, so that HTTP work and ' +
        'new requests preempt a running step (Linux)',
      niceLevels,
      0,
    )
    .option(
      '--helper-nice <n>',
      `lower the CPU helper threads by n nice levels below their engine worker, 0–19 (Linux; default ${DEFAULT_HELPER_NICE})`,
      niceLevels,
    )
    .option('--body-limit <bytes>', 'largest request body', positiveInt, 4 * 1024 * 1024)
    .option(
      '--dtype <type>',
      'auto (keep, but F16/BF16 widened to float32 on the CPU) | keep (GGUF half and quantized matrices stay in ' +
        'their types, as llama.cpp runs them) | f32 | f16 | bf16 | q8_0 | q4_0 (every matrix rounded through it)',
      weightDtype,
      'auto',
    )
    .option('--dry-run', 'print the memory the model needs per dtype (weights + KV cache) and exit')
    .option('--rate-limit <per-minute>', 'per API key (else per client address): /v1 requests per minute', positiveInt)
    .option('--rate-burst <n>', 'requests a key may send at once (default: 10 seconds of --rate-limit)', positiveInt)
    .option(
      '--prefix-cache <tokens>',
      'reuse cached prompt prefixes of at least this many tokens (0: off)',
      nonNegativeInt,
      16,
    )
    .option(
      '--no-partial-prefix',
      'share whole cached KV blocks of a prompt prefix only, not the start of a partly matching block (a copy)',
    )
    .option(
      '--drain-seconds <s>',
      'on SIGTERM, how long in-flight requests may finish before cancellation',
      positiveInt,
      10,
    )
    .option('--log-level <level>', 'JSON request logs (pino): fatal | error | warn | info | debug | silent', 'info');
}

/** Runs the CLI with `argv` (as `process.argv`). Resolves once listening. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const program = buildProgram();
  program.parse(argv as string[]);
  const o = program.opts<CliOptions>();
  if (o.chatTemplate && !CHAT_TEMPLATE_NAMES.includes(o.chatTemplate)) {
    program.error(`--chat-template must be one of ${CHAT_TEMPLATE_NAMES.join(', ')}, got '${o.chatTemplate}'`);
  }
  const kvName = o.kvDtype ?? 'f32';
  const kvDtype = (Object.keys(KV_DTYPE_NAMES) as KvDtype[]).find((d) => KV_DTYPE_NAMES[d] === kvName);
  if (kvDtype === undefined)
    program.error(`--kv-dtype must be one of ${Object.values(KV_DTYPE_NAMES).join(', ')}, got '${o.kvDtype}'`);
  if (!LOG_LEVELS.includes(o.logLevel)) program.error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  if (o.rateBurst !== undefined && o.rateLimit === undefined) program.error('--rate-burst needs --rate-limit');
  const dir = resolve(o.model);
  if (o.dryRun) {
    process.stdout.write(`${await dryRunReport(dir, o.maxBatch, o.context, kvDtype)}\n`);
    return;
  }
  await selectBackend(o.backend);
  const engineWorkers = o.engineWorkers ?? defaultEngineWorkers(getBackend().name);
  const server = createServer({
    apiKey: o.apiKey,
    maxQueue: o.maxQueue,
    bodyLimit: o.bodyLimit,
    prefillChunk: o.prefillChunk,
    targetStepMs: o.targetStepMs,
    prefillFirst: o.prefillFirst,
    cutIn: o.cutIn,
    refillWaitMs: o.refillWait,
    warmUp: o.warmUp,
    logger: { level: o.logLevel },
    prefixCacheMinTokens: o.prefixCache,
    partialPrefix: o.partialPrefix,
    rateLimit: o.rateLimit === undefined ? undefined : { perMinute: o.rateLimit, burst: o.rateBurst },
    load: () =>
      loadServedModel(dir, {
        id: o.modelName ?? basename(dir),
        dtype: o.dtype,
        maxSlots: o.maxBatch,
        maxContext: o.context,
        engineWorkers,
        cutIns: o.cutIn,
        computeNice: o.computeNice,
        helperNice: o.helperNice,
        chatTemplate: o.chatTemplate,
        kvBudgetBytes: o.kvMemory === undefined ? undefined : o.kvMemory * 1024 * 1024,
        kvDtype,
        lora: o.lora === undefined ? undefined : resolve(o.lora),
      }),
  });
  const address = await server.app.listen({ host: o.host, port: o.port });
  process.stdout.write(`andes-serve: listening on ${address} (loading ${dir})\n`);
  server.loaded.then(
    async () => {
      const s = server.scheduler();
      const weights = await heldWeights(dir, o.dtype, getBackend().name).catch(() => `weights --dtype ${o.dtype}`);
      process.stdout.write(
        `andes-serve: model ready (batch ${s?.engine.maxSlots}, context ${s?.engine.maxContext}, ` +
          `${s?.engine.blocks.numBlocks} KV blocks of ${s?.engine.blocks.blockSize} positions (${o.kvDtype}), ` +
          `${engineWorkers} engine worker${engineWorkers === 1 ? '' : 's'}; ${weights})\n`,
      );
    },
    (e: Error) => {
      // A server that can never serve should not linger: report and exit non-zero.
      const err = new CliError(
        `cannot load the model in ${dir}: ${userMessage(e.message)}`,
        'pass --model a model directory (config.json, model.safetensors, tokenizer), e.g. runs/default/model',
        { cause: e },
      );
      process.stderr.write(`${formatCliError('andes-serve', err, isVerbose(argv))}\n`);
      server.shutdown(0).finally(() => process.exit(1));
    },
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`andes-serve: ${signal}, finishing in-flight requests\n`);
    server.shutdown(o.drainSeconds * 1000).then(
      () => process.exit(0),
      (e: Error) => {
        process.stderr.write(`andes-serve: shutdown failed: ${e.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
