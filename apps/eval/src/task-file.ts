/**
 * The JSONL task format and its parser.
 *
 * One JSON object per line; blank lines are skipped. Three item forms:
 * - multiple choice: `{ "context": string, "choices": string[], "label": int }`
 * - partial scoring (WinoGrande): `{ "contexts": string[], "continuation": string, "label": int }` — each option is
 *   already written into its context; the shared continuation is scored after each context.
 * - generation: `{ "prompt": string, "answers": string[], "until"?: string[] }` scored by exact match and F1.
 *
 * Every row may carry `"split": "train" | "validation" | "test"`. Rows with `"split": "train"` form the few-shot pool;
 * the other rows are evaluated. A sibling file `<name>.train.jsonl` next to `<name>.jsonl` adds to the few-shot pool.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** A multiple-choice item: the continuation `" " + choices[i]` is scored after `context`. */
export interface ChoiceItem {
  kind: 'choice';
  context: string;
  choices: string[];
  /** Index of the correct choice. */
  label: number;
  /** Where the item came from, `file:line`, for messages. */
  where: string;
}

/** A partial-scoring item (WinoGrande style): `" " + continuation` is scored after each of `contexts`. */
export interface PartialItem {
  kind: 'partial';
  contexts: string[];
  continuation: string;
  /** Index of the correct context. */
  label: number;
  /** Where the item came from, `file:line`. */
  where: string;
}

/** A generation item: greedy generation from `prompt` until one of `until`, compared with `answers`. */
export interface GenerationItem {
  kind: 'generation';
  prompt: string;
  answers: string[];
  /** Stop strings; default `["\n"]`. */
  until: string[];
  /** Where the item came from, `file:line`. */
  where: string;
}

/** Any task item. */
export type TaskItem = ChoiceItem | PartialItem | GenerationItem;

/** The family of a task: log-likelihood ranking of options, or free generation. */
export type TaskFamily = 'multiple_choice' | 'generation';

/** A parsed task: evaluation items plus the few-shot pool. */
export interface Task {
  /** Task name (file name without `.jsonl`, or the built-in task's name). */
  name: string;
  family: TaskFamily;
  /** Items to evaluate, in file order. */
  items: TaskItem[];
  /** Few-shot pool: `"split": "train"` rows plus the rows of a sibling `.train.jsonl` file. */
  train: TaskItem[];
  /** Probability of a correct answer by uniform guessing (mean over items), or null for generation tasks. */
  chance: number | null;
}

const SPLITS = new Set(['train', 'validation', 'test']);

/** Parsed rows of one JSONL text, each tagged with its split. */
export interface ParsedRows {
  rows: { item: TaskItem; split: string }[];
}

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

function stringArray(value: unknown, field: string, where: string, minLength: number): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    fail(where, `"${field}" must be an array of strings, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  if (value.length < minLength) fail(where, `"${field}" needs at least ${minLength} entries, got ${value.length}`);
  return value as string[];
}

function labelIn(value: unknown, count: number, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= count) {
    fail(where, `"label" must be an integer in [0, ${count - 1}], got ${JSON.stringify(value)}`);
  }
  return value;
}

function str(value: unknown, field: string, where: string): string {
  if (typeof value !== 'string') fail(where, `"${field}" must be a string, got ${JSON.stringify(value)}`);
  return value;
}

/** Turns one decoded JSON row into a task item, or throws naming `where` and the bad field. */
export function parseTaskRow(row: unknown, where: string): { item: TaskItem; split: string } {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) fail(where, 'each line must be a JSON object');
  const r = row as Record<string, unknown>;
  const split = r.split === undefined ? 'test' : str(r.split, 'split', where);
  if (!SPLITS.has(split)) fail(where, `"split" must be one of train, validation, test; got "${split}"`);
  let item: TaskItem;
  if ('choices' in r) {
    const choices = stringArray(r.choices, 'choices', where, 2);
    // An empty choice has no characters to normalise acc_norm by.
    const empty = choices.indexOf('');
    if (empty >= 0) fail(where, `"choices"[${empty}] is empty`);
    item = {
      kind: 'choice',
      context: str(r.context, 'context', where),
      choices,
      label: labelIn(r.label, choices.length, where),
      where,
    };
  } else if ('contexts' in r) {
    const contexts = stringArray(r.contexts, 'contexts', where, 2);
    item = {
      kind: 'partial',
      contexts,
      continuation: str(r.continuation, 'continuation', where),
      label: labelIn(r.label, contexts.length, where),
      where,
    };
  } else if ('prompt' in r) {
    item = {
      kind: 'generation',
      prompt: str(r.prompt, 'prompt', where),
      answers: stringArray(r.answers, 'answers', where, 1),
      until: r.until === undefined ? ['\n'] : stringArray(r.until, 'until', where, 1),
      where,
    };
  } else {
    fail(where, 'unknown item: expected "context"+"choices", "contexts"+"continuation", or "prompt"+"answers"');
  }
  return { item, split };
}

/** Parses JSONL text; `file` names the source in error messages (`file:line: …`). */
export function parseTaskJsonl(text: string, file: string): ParsedRows {
  const rows: ParsedRows['rows'] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      fail(where, `invalid JSON (${(e as Error).message})`);
    }
    rows.push(parseTaskRow(value, where));
  }
  return { rows };
}

function familyOf(item: TaskItem): TaskFamily {
  return item.kind === 'generation' ? 'generation' : 'multiple_choice';
}

/**
 * Builds a task from evaluation rows and few-shot rows, checking that every row belongs to one family.
 * Throws `file:line: …` for the first row of another family, or when no rows are left to evaluate.
 */
export function assembleTask(name: string, rows: ParsedRows['rows'], source: string): Task {
  const items = rows.filter((r) => r.split !== 'train').map((r) => r.item);
  const train = rows.filter((r) => r.split === 'train').map((r) => r.item);
  if (items.length === 0) throw new Error(`${source}: task "${name}" has no rows to evaluate (all rows are train)`);
  const family = familyOf(items[0]!);
  for (const item of [...items, ...train]) {
    if (familyOf(item) !== family) {
      fail(item.where, `${item.kind} item in a ${family} task (first item: ${items[0]!.where})`);
    }
  }
  let chance: number | null = null;
  if (family === 'multiple_choice') {
    const sum = items.reduce(
      (s, it) => s + 1 / (it.kind === 'choice' ? it.choices.length : (it as PartialItem).contexts.length),
      0,
    );
    chance = sum / items.length;
  }
  return { name, family, items, train, chance };
}

/** Reads `<name>.jsonl` (and its sibling `<name>.train.jsonl`, if present) into a task. */
export function loadTaskFile(path: string): Task {
  if (!existsSync(path)) throw new Error(`task file not found: ${path}`);
  const rows = parseTaskJsonl(readFileSync(path, 'utf8'), path).rows;
  const trainPath = path.replace(/\.jsonl$/, '') + '.train.jsonl';
  if (trainPath !== path && existsSync(trainPath)) {
    for (const r of parseTaskJsonl(readFileSync(trainPath, 'utf8'), trainPath).rows)
      rows.push({ item: r.item, split: 'train' });
  }
  return assembleTask(basename(path).replace(/\.jsonl$/, ''), rows, path);
}
