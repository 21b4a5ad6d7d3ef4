/**
 * Loads a model directory (Hugging Face layout, as @andes/checkpoint writes it) into a `ServedModel`: weights into
 * a `LlamaForCausalLM`, the tokenizer, the chat template (flag, else `tokenizer_config.json`), and a `LlamaEngine`
 * with its KV cache preallocated.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type LoadDtype, loadModel, loadModelInfo } from '@andes/checkpoint';
import type { LlamaConfig, LlamaForCausalLM } from '@andes/nn';
import { getBackend } from '@andes/tensor';
import { applyChatTemplate, type Tokenizer } from '@andes/tokenizer';
import type { Engine } from './engine.js';
import { type KvDtype, LlamaEngine, type LlamaEngineOptions } from './llama-engine.js';
import { modelFromLoaded } from './model-build.js';
import { warmUp } from './operations.js';
import type { ChatMessage, ServedModel } from './served-model.js';
import { ShardedEngine } from './sharded-engine.js';
import { type EngineSource, WorkerEngine } from './worker-engine.js';

/** Chat templates the server knows by name. */
export const CHAT_TEMPLATE_NAMES = ['llama-2', 'alpaca', 'vicuna', 'chatml'] as const;

/** One of {@link CHAT_TEMPLATE_NAMES}. */
export type ChatTemplateName = (typeof CHAT_TEMPLATE_NAMES)[number];

/** Options of {@link loadServedModel}. */
export interface LoadServedModelOptions {
  /** Model id clients send. */
  id: string;
  /** KV-cache slots. */
  maxSlots: number;
  /** Positions per slot (default: `max_position_embeddings`). */
  maxContext?: number;
  /** Overrides the directory's template. */
  chatTemplate?: ChatTemplateName;
  /** KV-cache budget in bytes. */
  kvBudgetBytes?: number;
  /** Element type of the KV cache (default float32; see `LlamaEngineOptions.kvDtype`). */
  kvDtype?: KvDtype;
  /**
   * A PEFT LoRA adapter directory, applied at load: merged into float32 weights (no cost per token); beside kept
   * half or quantized weights it stays a separate low-rank product in each forward.
   */
  lora?: string;
  /**
   * How the weights are held. `keep`: a GGUF file's half and quantized matrices (F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)
   * stay in their types in memory, and the products read them there, activations rounded to int8 per 32-block for
   * the integer types as llama.cpp does (a Q4_0 LLaMA-7B takes ~3.8 GB instead of 27 GB); other formats load as
   * float32. `auto` (the default): `keep`, but on the CPU backend F16 and BF16 matrices widen to float32 (see
   * `loadOptionsOf`). `f32`, `f16`, `bf16`, `q8_0`, `q4_0`: every matrix rounded through that type at load and held
   * and computed in float32 (e.g. to evaluate what a quantization costs).
   */
  dtype?: LoadDtype;
  /**
   * Run the model in this many worker threads (default 0: on the main thread). 1 keeps the HTTP side responsive
   * during steps; more are data-parallel replicas (`ShardedEngine`), each loading the weights and holding its own
   * KV cache of `maxSlots` sequences, with the batch over all of them still at most `maxSlots`.
   */
  engineWorkers?: number;
  /**
   * Offer cut-ins (`Engine.cutIn`: a prompt arriving during a step runs between its layers). Default: on with one
   * engine worker on the CPU backend (measured: time to first token under load about halved for a few % of
   * throughput); off on WebGPU, where a cut-in (its layers behind the step's, its rows in the step's output
   * projection) lowered the 16-client TTFT on lavapipe but cost 3–7 % of the tokens per server CPU-second and up to
   * a tenth of the throughput (apps/serve/BENCHMARKS.md, lvp3). Never with replicas (2+ workers).
   */
  cutIns?: boolean;
  /**
   * Nice levels (0–19) the engine workers' threads and their CPU helper threads go below the process's priority,
   * Linux only (see `EngineWorkerInit.computeNice`); default 0.
   */
  computeNice?: number;
  /**
   * Nice levels (0–19) the engine workers' CPU helper threads go below their worker (`setCpuHelperNice`); default
   * {@link DEFAULT_HELPER_NICE}.
   */
  helperNice?: number;
}

/**
 * The CPU helper threads' default nice levels below their engine worker. Why: when the HTTP thread or the clients
 * need a core, the preempted compute thread should be the helper (the worker takes its chunks) rather than the worker
 * (the step stalls). Measured at 16 clients on two cores (apps/serve/BENCHMARKS.md): `realistic` +5 % tokens/s and
 * a lower TTFT p95 in four runs of four, `lockstep` unchanged.
 */
export const DEFAULT_HELPER_NICE = 5;

/**
 * The template named by `tokenizer_config.json`: our `chat_template` holds a template name; a Jinja template from
 * elsewhere is recognised by its markers. Default `llama-2`.
 */
export async function chatTemplateOf(dir: string): Promise<ChatTemplateName> {
  let raw: string;
  try {
    raw = await readFile(join(dir, 'tokenizer_config.json'), 'utf8');
  } catch {
    return 'llama-2';
  }
  const cfg = JSON.parse(raw) as { chat_template?: unknown };
  const t = cfg.chat_template;
  if (typeof t !== 'string') return 'llama-2';
  if ((CHAT_TEMPLATE_NAMES as readonly string[]).includes(t)) return t as ChatTemplateName;
  if (t.includes('<|im_start|>')) return 'chatml';
  if (t.includes('### Instruction')) return 'alpaca';
  if (t.includes('USER:')) return 'vicuna';
  return 'llama-2';
}

/** Whether `tokenizer_config.json` names a chat template at all (a base model's does not). */
export async function declaresChatTemplate(dir: string): Promise<boolean> {
  try {
    const cfg = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
    return typeof cfg.chat_template === 'string' && cfg.chat_template !== '';
  } catch {
    return false;
  }
}

/** Renders chat messages to prompt ids with the named template (BOS as the template's tokenizer adds it). */
export function renderChatIds(
  tokenizer: Tokenizer,
  template: ChatTemplateName,
  messages: readonly ChatMessage[],
  addGenerationPrompt: boolean,
): number[] {
  return Array.from(applyChatTemplate(tokenizer, messages as ChatMessage[], template, { addGenerationPrompt }));
}

/** Options of {@link createServedModel}: an in-memory model and tokenizer. */
export interface CreateServedModelOptions {
  id: string;
  model: LlamaForCausalLM;
  tokenizer: Tokenizer;
  template: ChatTemplateName;
  /** The model declares no chat template (a base model); `template` is then only the fallback format. */
  base?: boolean;
  maxSlots: number;
  maxContext?: number;
  kvBudgetBytes?: number;
  kvDtype?: KvDtype;
}

/** Wraps a model already in memory (tests, benchmarks, in-process serving). */
export function createServedModel(options: CreateServedModelOptions): ServedModel {
  const engine = new LlamaEngine(options.model, {
    maxSlots: options.maxSlots,
    maxContext: options.maxContext,
    kvBudgetBytes: options.kvBudgetBytes,
    kvDtype: options.kvDtype,
  });
  return servedModelOf(options, options.model.config, engine);
}

/** The served model of `engine` (whose model has `config`) with `options`' name, tokenizer and template. */
function servedModelOf(
  options: Omit<CreateServedModelOptions, 'model'>,
  config: LlamaConfig,
  engine: Engine,
): ServedModel {
  const { tokenizer, template } = options;
  const eosIds = [...new Set([tokenizer.eosId, config.eos_token_id].filter((x) => x >= 0))];
  // A ChatML turn ends with <|im_end|>: when the vocabulary has it as a special token, it ends generation too.
  if (template === 'chatml') {
    const imEnd = tokenizer.pieceToId('<|im_end|>');
    if (imEnd >= 0 && tokenizer.isSpecial(imEnd)) eosIds.push(imEnd);
  }
  return {
    id: options.id,
    created: Math.floor(Date.now() / 1000),
    engine,
    tokenizer,
    eosIds,
    chatTemplate: options.base ? null : template,
    renderChat: (messages, addGenerationPrompt = true) =>
      renderChatIds(tokenizer, template, messages, addGenerationPrompt),
  };
}

/**
 * `workers` engine workers on the current backend, each loading `source` (warmed up, so that the first requests do
 * not pay for first use): one `WorkerEngine`, or a `ShardedEngine` over several; `computeNice` and `helperNice` as
 * in `LoadServedModelOptions`.
 */
export async function createWorkerEngines(
  workers: number,
  source: EngineSource,
  engine: LlamaEngineOptions,
  cutIns?: boolean,
  computeNice?: number,
  helperNice?: number,
): Promise<Engine> {
  const backend = getBackend().name;
  // Replicas share the cores: unless ANDES_CPU_THREADS says otherwise, each CPU replica's products use its share of
  // them (a helper thread polling on a core another replica computes on only slows both).
  const cpuThreads =
    workers > 1 && !process.env.ANDES_CPU_THREADS
      ? Math.max(1, Math.floor(availableParallelism() / workers))
      : undefined;
  // Cut-ins (a new prompt between the layers of the running step) where a step is synchronous WebAssembly that only
  // the worker can interrupt: one CPU worker (replicas step apart, and the scheduler sees them as one engine).
  const withCutIns = workers === 1 && (cutIns ?? backend === 'cpu');
  const shards = await Promise.all(
    Array.from({ length: workers }, () =>
      WorkerEngine.create(
        { backend, source, engine, cpuThreads, computeNice, helperNice: helperNice ?? DEFAULT_HELPER_NICE },
        { cutIns: withCutIns },
      ),
    ),
  );
  for (const s of shards) await warmUp(s);
  return shards.length === 1 ? shards[0]! : new ShardedEngine(shards);
}

/** Loads `dir` (a Hugging Face directory, a GGUF file or a llama2.c `.bin`) and builds the served model. */
export async function loadServedModel(dir: string, options: LoadServedModelOptions): Promise<ServedModel> {
  const workers = options.engineWorkers ?? 0;
  // With engine workers, each loads the weights itself: this thread reads only the config and the tokenizer, so
  // the weights are in memory once per worker, never also here.
  const dtype = options.dtype ?? 'auto';
  const full = workers > 0 ? undefined : await loadModel(dir, { dtype });
  const loaded = full ?? (await loadModelInfo(dir));
  const tokenizer = loaded.tokenizer;
  if (!tokenizer) throw new Error(`loadServedModel: ${dir} has no tokenizer (tokenizer.model or tokenizer.json)`);
  const sizing = {
    maxSlots: options.maxSlots,
    maxContext: options.maxContext,
    kvBudgetBytes: options.kvBudgetBytes,
    kvDtype: options.kvDtype,
  };
  const engine = full
    ? // Cut-ins on this thread only where a step's device work runs apart from it (WebGPU; see LlamaEngine).
      new LlamaEngine(await modelFromLoaded(full, options.lora), {
        ...sizing,
        cutIns: options.cutIns === true && getBackend().name === 'webgpu',
      })
    : await createWorkerEngines(
        workers,
        { kind: 'path', path: dir, dtype, lora: options.lora },
        sizing,
        options.cutIns,
        options.computeNice,
        options.helperNice,
      );
  return servedModelOf(
    {
      id: options.id,
      tokenizer,
      template: options.chatTemplate ?? loaded.chatTemplate ?? (await chatTemplateOf(dir)),
      base:
        options.chatTemplate === undefined && loaded.chatTemplate === undefined && !(await declaresChatTemplate(dir)),
      maxSlots: options.maxSlots,
    },
    loaded.config,
    engine,
  );
}
