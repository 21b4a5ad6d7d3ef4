/**
 * The two evaluations as functions (what the CLI's subcommands call): open each model in turn, evaluate, and
 * produce one report with the models side by side.
 * @module
 */
import { existsSync } from 'node:fs';
import type { LoadDtype } from '@andes/checkpoint';
import { BUILTIN_TASK_NAMES, type BuiltinTaskName, builtinTask, builtinTasks } from './builtin-tasks.js';
import { evaluateTask, type TaskResult } from './evaluate-task.js';
import { STORY_INSTRUCT_TASK, storyInstructTask } from './instruction-task.js';
import { LocalModel } from './local-model.js';
import type { LogLikelihoodModel } from './model.js';
import { evaluatePerplexity, readDocuments } from './perplexity.js';
import { startProgress } from './progress.js';
import type { PerplexityReport, TasksReport } from './report.js';
import { ServerModel } from './server-model.js';
import { loadTaskFile, type Task } from './task-file.js';

/** Which models to evaluate and how to run them. */
export interface ModelSelection {
  /** Model directories, evaluated in-process. */
  models?: string[];
  /** OpenAI-compatible server URLs. */
  servers?: string[];
  /** `model` field sent to servers (default: the server's first model). */
  serverModel?: string;
  /** Rows per forward for local models. */
  batchSize?: number;
  /** A PEFT LoRA adapter directory: each local model is also evaluated with it applied (base and adapter side by side). */
  lora?: string;
  /**
   * `--dtype`: `keep` holds a GGUF's half and quantized matrices in their types and computes with them as llama.cpp
   * does; `auto` (the default) the same but F16/BF16 widened to float32 on the CPU; another type rounds every local
   * matrix through it at load (computed in float32).
   */
  dtype?: LoadDtype;
  /** Progress output (default stderr); pass null to silence it. */
  progress?: NodeJS.WriteStream | null;
}

/** A model opener: label and how to open it, so only one local model is in memory at a time. */
interface ModelSpec {
  label: string;
  open(): Promise<LogLikelihoodModel>;
}

function modelSpecs(selection: ModelSelection, maxLength?: number): ModelSpec[] {
  const specs: ModelSpec[] = [
    ...(selection.models ?? []).flatMap((dir) => [
      {
        label: dir,
        open: () => LocalModel.load(dir, { batchSize: selection.batchSize, maxLength, dtype: selection.dtype }),
      },
      ...(selection.lora === undefined
        ? []
        : [
            {
              label: `${dir} + ${selection.lora}`,
              open: () =>
                LocalModel.load(dir, {
                  batchSize: selection.batchSize,
                  maxLength,
                  dtype: selection.dtype,
                  lora: selection.lora,
                }),
            },
          ]),
    ]),
    ...(selection.servers ?? []).map((url) => ({
      label: url,
      open: async () => new ServerModel(url, { model: selection.serverModel, maxLength }),
    })),
  ];
  if (specs.length === 0) throw new Error('no model to evaluate: pass --model <dir> or --server <url>');
  return specs;
}

function progressFor(selection: ModelSelection, label: string) {
  if (selection.progress === null) return { update: () => {}, stop: () => {} };
  return startProgress(label, selection.progress);
}

/**
 * Resolves `--tasks` entries: a path to a JSONL file, or the name of a built-in task. No entries means all
 * built-in tasks. Malformed files throw `file:line: …` before any model is loaded.
 */
export function resolveTasks(entries: readonly string[] | undefined, builtinItems?: number): Task[] {
  const options = builtinItems === undefined ? {} : { items: builtinItems };
  if (!entries || entries.length === 0) return builtinTasks(options);
  return entries.map((entry) => {
    if (existsSync(entry)) return loadTaskFile(entry);
    if (entry === STORY_INSTRUCT_TASK) return storyInstructTask(options);
    if ((BUILTIN_TASK_NAMES as readonly string[]).includes(entry))
      return builtinTask(entry as BuiltinTaskName, options);
    throw new Error(
      `task "${entry}" is neither a file nor a built-in task (${[...BUILTIN_TASK_NAMES, STORY_INSTRUCT_TASK].join(', ')})`,
    );
  });
}

/** Options of {@link runTasks}. */
export interface RunTasksOptions extends ModelSelection {
  tasks: Task[];
  shots?: number;
  seed?: number;
  limit?: number;
  /** Most tokens generated per generation item (default 32). */
  maxGenTokens?: number;
  /** Keep per-item records in each result's `samples`. */
  logSamples?: boolean;
  /** Most input tokens per request, left-truncated beyond (default: the model's context length). */
  context?: number;
}

/** Evaluates every task on every model; models are opened one at a time. */
export async function runTasks(options: RunTasksOptions): Promise<TasksReport> {
  const shots = options.shots ?? 0;
  const seed = options.seed ?? 1234;
  const models: TasksReport['models'] = [];
  for (const spec of modelSpecs(options, options.context)) {
    const model = await spec.open();
    try {
      const results: TaskResult[] = [];
      for (const task of options.tasks) {
        const progress = progressFor(options, `${task.name} @ ${spec.label}`);
        try {
          const { limit, maxGenTokens, logSamples } = options;
          const taskOptions = { shots, seed, limit, maxGenTokens, logSamples };
          results.push(await evaluateTask(model, task, { ...taskOptions, onProgress: progress.update }));
        } finally {
          progress.stop();
        }
      }
      models.push({ model: spec.label, results });
    } finally {
      await model.close();
    }
  }
  return { kind: 'tasks', settings: { shots, seed, limit: options.limit ?? null }, models };
}

/** Options of {@link runPerplexity}. */
export interface RunPerplexityOptions extends ModelSelection {
  /** Text files (one document each) or JSONL files (one `"text"` per line). */
  data: string[];
  /** Window length in tokens (default: the model's context length). */
  context?: number;
  /** New tokens per window after the first (default: the window length, disjoint windows). */
  stride?: number;
}

/** Perplexity and bits per byte of every model on the same documents. */
export async function runPerplexity(options: RunPerplexityOptions): Promise<PerplexityReport> {
  if (options.data.length === 0) throw new Error('perplexity: pass --data <files>');
  const documents = options.data.flatMap(readDocuments);
  const models: PerplexityReport['models'] = [];
  for (const spec of modelSpecs(options, options.context)) {
    const model = await spec.open();
    const progress = progressFor(options, `perplexity @ ${spec.label}`);
    try {
      const rolling = { maxLength: options.context, stride: options.stride };
      models.push({ model: spec.label, result: await evaluatePerplexity(model, documents, rolling, progress.update) });
    } finally {
      progress.stop();
      await model.close();
    }
  }
  return {
    kind: 'perplexity',
    settings: { data: options.data, context: options.context ?? null, stride: options.stride ?? null },
    models,
  };
}
