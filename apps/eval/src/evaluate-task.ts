/**
 * Scores one task on one model: builds the harness's requests (with k-shot prefixes), asks the model, and reduces
 * the answers to `acc`, `acc_norm` (multiple choice) or `exact_match`, `f1` (generation), each with its stderr.
 * @module
 */
import { fewshotPrefix, sampleShots, TARGET_DELIMITER } from './fewshot.js';
import { argmax, charLength } from './harness.js';
import { exactMatch, f1Score, type MetricValue, meanWithStderr } from './metrics.js';
import type { LogLikelihoodModel, LoglikelihoodRequest, ProgressCallback } from './model.js';
import type { ChoiceItem, GenerationItem, PartialItem, Task, TaskItem } from './task-file.js';

/** How to evaluate a task. */
export interface TaskOptions {
  /** Few-shot examples per item, drawn from the task's train split (default 0). */
  shots?: number;
  /** Seed of the few-shot draw (default 1234, the harness's). */
  seed?: number;
  /** Evaluate only the first `limit` items. */
  limit?: number;
  /** Most tokens generated per generation item (default 32). */
  maxGenTokens?: number;
  /** Progress over the task's items (done, total). */
  onProgress?: ProgressCallback;
  /** Keep each item's prompt, scores and prediction in {@link TaskResult.samples}. */
  logSamples?: boolean;
}

/** One evaluated item, as the harness's `--log_samples` records it. */
export interface TaskSample {
  /** Where the item came from (`file:line` or the built-in story). */
  where: string;
  /** The full context (few-shot prefix included) or, for generation, the prompt. */
  prompt: string;
  /** Multiple choice: the options (for partial scoring, the contexts' options are in `prompt` order). */
  choices?: string[];
  /** Multiple choice: the gold index. */
  label?: number;
  /** Multiple choice: each option's summed log-likelihood (nats) and greediness. */
  logprobs?: number[];
  isGreedy?: boolean[];
  /** Generation: the gold answers and the model's cut output. */
  answers?: string[];
  output?: string;
  /** This item's metric values (`acc`, `acc_norm`, `exact_match`, `f1`). */
  metrics: Record<string, number>;
}

/** One task's scores on one model. */
export interface TaskResult {
  task: string;
  family: Task['family'];
  /** Items evaluated. */
  n: number;
  shots: number;
  /** Accuracy of uniform guessing, or null for generation tasks. */
  chance: number | null;
  /** Metric name (`acc`, `acc_norm`, `exact_match`, `f1`) → value ± stderr. */
  metrics: Record<string, MetricValue>;
  /** Per-item records, when `logSamples` was set. */
  samples?: TaskSample[];
}

/** The scored options of one multiple-choice item: requests, and the character lengths used by `acc_norm`. */
export function choiceRequests(item: TaskItem, prefix: string): LoglikelihoodRequest[] {
  if (item.kind === 'choice') {
    return item.choices.map((c) => ({ context: prefix + item.context, continuation: TARGET_DELIMITER + c }));
  }
  if (item.kind === 'partial') {
    return item.contexts.map((c) => ({ context: prefix + c, continuation: TARGET_DELIMITER + item.continuation }));
  }
  throw new Error(`${item.where}: a generation item has no choices`);
}

/**
 * `acc` and `acc_norm` of one item from its options' log-likelihoods. `acc_norm` divides each log-likelihood by the
 * option's length in characters, as the harness's `completion_len = len(choice)` (the delimiter is not counted).
 */
export function scoreChoiceItem(
  item: ChoiceItem | PartialItem,
  logprobs: readonly number[],
): { acc: number; accNorm: number | null } {
  const acc = argmax(logprobs) === item.label ? 1 : 0;
  if (item.kind !== 'choice') return { acc, accNorm: null };
  const normed = logprobs.map((lp, i) => lp / charLength(item.choices[i]!));
  return { acc, accNorm: argmax(normed) === item.label ? 1 : 0 };
}

function selectItems(task: Task, options: TaskOptions): { items: TaskItem[]; prefixes: string[] } {
  const shots = options.shots ?? 0;
  const seed = options.seed ?? 1234;
  const items = options.limit === undefined ? task.items : task.items.slice(0, options.limit);
  if (shots > 0 && task.train.length < shots) {
    throw new Error(
      `task "${task.name}": --shots ${shots} needs a train split of at least ${shots} items, it has ${task.train.length}`,
    );
  }
  const prefixes = items.map((_, i) => fewshotPrefix(sampleShots(task.train, shots, seed, i)));
  return { items, prefixes };
}

/** Evaluates `task` on `model` with lm-evaluation-harness semantics. */
export async function evaluateTask(
  model: LogLikelihoodModel,
  task: Task,
  options: TaskOptions = {},
): Promise<TaskResult> {
  const { items, prefixes } = selectItems(task, options);
  const shots = options.shots ?? 0;
  const metrics: Record<string, MetricValue> = {};
  const samples: TaskSample[] | undefined = options.logSamples ? [] : undefined;
  if (task.family === 'multiple_choice') {
    const perItem = items.map((item, i) => choiceRequests(item, prefixes[i]!));
    // Progress counts items, as the generation branch does, not the several requests (choices) of each item.
    const onRequests = options.onProgress
      ? (done: number, total: number) =>
          options.onProgress?.(total === 0 ? items.length : Math.floor((done / total) * items.length), items.length)
      : undefined;
    const results = await model.loglikelihood(perItem.flat(), onRequests);
    let offset = 0;
    const acc: number[] = [];
    const accNorm: number[] = [];
    items.forEach((item, i) => {
      const count = perItem[i]!.length;
      const answers = results.slice(offset, offset + count);
      const choice = item as ChoiceItem | PartialItem;
      const score = scoreChoiceItem(
        choice,
        answers.map((r) => r.logprob),
      );
      offset += count;
      acc.push(score.acc);
      if (score.accNorm !== null) accNorm.push(score.accNorm);
      samples?.push({
        where: item.where,
        prompt: choice.kind === 'choice' ? prefixes[i]! + choice.context : prefixes[i]!,
        choices: choice.kind === 'choice' ? choice.choices : choice.contexts.map((c) => `${c} ${choice.continuation}`),
        label: choice.label,
        logprobs: answers.map((r) => r.logprob),
        isGreedy: answers.map((r) => r.isGreedy),
        metrics: score.accNorm === null ? { acc: score.acc } : { acc: score.acc, acc_norm: score.accNorm },
      });
    });
    metrics.acc = meanWithStderr(acc);
    // acc_norm is defined only for the plain multiple-choice form (the harness reports only acc for partial scoring).
    if (accNorm.length === items.length) metrics.acc_norm = meanWithStderr(accNorm);
  } else {
    const gen = items as GenerationItem[];
    const outputs: string[] = new Array(gen.length);
    // Items may differ in stop strings; group by them so each group is one batched generate call.
    const groups = new Map<string, number[]>();
    gen.forEach((item, i) => {
      const key = JSON.stringify(item.until);
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    let done = 0;
    for (const [key, indices] of groups) {
      const texts = await model.generate(
        indices.map((i) => prefixes[i]! + gen[i]!.prompt),
        { until: JSON.parse(key) as string[], maxTokens: options.maxGenTokens ?? 32 },
        (d) => options.onProgress?.(done + d, gen.length),
      );
      indices.forEach((i, j) => {
        outputs[i] = texts[j]!;
      });
      done += indices.length;
    }
    const em = gen.map((item, i) => exactMatch(outputs[i]!, item.answers));
    const f1 = gen.map((item, i) => f1Score(outputs[i]!, item.answers));
    metrics.exact_match = meanWithStderr(em);
    metrics.f1 = meanWithStderr(f1);
    gen.forEach((item, i) => {
      samples?.push({
        where: item.where,
        prompt: prefixes[i]! + item.prompt,
        answers: item.answers,
        output: outputs[i]!,
        metrics: { exact_match: em[i]!, f1: f1[i]! },
      });
    });
  }
  const result: TaskResult = {
    task: task.name,
    family: task.family,
    n: items.length,
    shots,
    chance: task.chance,
    metrics,
  };
  if (samples) result.samples = samples;
  return result;
}
