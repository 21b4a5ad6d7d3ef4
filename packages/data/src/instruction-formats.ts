/**
 * Readers of the public instruction-tuning formats, each as published:
 * - `alpaca`: a JSON array of `{ instruction, input, output }` (Stanford Alpaca's `alpaca_data.json`); the prompt
 *   follows Alpaca's template, with its "paired with an input" preamble and `### Input:` section when `input` is set;
 * - `sharegpt`: a JSON array of `{ conversations: [{ from: 'human' | 'gpt' | 'system', value }] }` (ShareGPT as
 *   Vicuna/FastChat train on it);
 * - `gpt4all`: JSON lines of `{ prompt, response }` (nomic-ai's GPT4All data);
 * - `chat-jsonl`: JSON lines of `{ messages: [{ role: 'system' | 'user' | 'assistant', content }] }` (OpenAI's
 *   fine-tuning format).
 * Every reader also takes the other container (a JSON array or JSON lines). Errors name `file:line` and the field.
 *
 * @module
 */

import type { ChatMessage } from '@andes/tokenizer';

/** The instruction formats {@link parseInstructionData} reads. */
export type InstructionFormat = 'alpaca' | 'sharegpt' | 'gpt4all' | 'chat-jsonl';

/** Every {@link InstructionFormat}, for help texts and validation. */
export const INSTRUCTION_FORMATS: readonly InstructionFormat[] = ['alpaca', 'sharegpt', 'gpt4all', 'chat-jsonl'];

/** One training conversation: an optional system message, then alternating user / assistant turns. */
export interface InstructionExample {
  /** The messages, ending with an assistant reply. */
  messages: ChatMessage[];
  /** Where it came from (`file:line`), for error messages. */
  source: string;
}

/** Alpaca's preamble when the record has an `input` (the one without is the `alpaca` chat template's default). */
export const ALPACA_INPUT_PREAMBLE =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.';

/** A JSON value with the 1-based line it starts on. */
interface SourceRecord {
  value: unknown;
  line: number;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function parseJson(text: string, file: string, firstLine: number): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const at = /position (\d+)/.exec(message);
    const line = at ? firstLine + lineAt(text, Number(at[1])) - 1 : firstLine;
    throw new Error(`${file}:${line}: invalid JSON (${message})`);
  }
}

/**
 * The elements of a top-level JSON array, each with its starting line: a small scanner finds where each element
 * starts and ends (outside strings, at depth 1), so a bad record is reported at its own line.
 */
function arrayRecords(text: string, file: string): SourceRecord[] {
  const records: SourceRecord[] = [];
  let depth = 0;
  let inString = false;
  let closed = false;
  let start = -1;
  let line = 1;
  let startLine = 1;
  const end = (i: number) => {
    records.push({ value: parseJson(text.slice(start, i + 1), file, startLine), line: startLine });
    start = -1;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\n') line++;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        if (depth === 1 && start >= 0) end(i);
      }
      continue;
    }
    if (/\s/.test(c)) continue;
    if (depth === 0) {
      if (closed) throw new Error(`${file}:${line}: unexpected text after the top-level array`);
      if (c !== '[') throw new Error(`${file}:${line}: expected a JSON array`);
      depth = 1;
      continue;
    }
    if (depth === 1 && start < 0) {
      if (c === ',') continue;
      if (c === ']') {
        depth = 0;
        closed = true;
        continue;
      }
      start = i;
      startLine = line;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      depth--;
      if (depth === 1) end(i);
    } else if (depth === 1 && /[\s,\]]/.test(text[i + 1] ?? ']')) end(i); // a number, true, false or null
  }
  if (!closed) throw new Error(`${file}:${line}: the top-level JSON array is not closed`);
  return records;
}

function lineRecords(text: string, file: string): SourceRecord[] {
  const records: SourceRecord[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    records.push({ value: parseJson(raw, file, i + 1), line: i + 1 });
  });
  return records;
}

function str(o: { [k: string]: unknown }, key: string, where: string, optional = false): string {
  const v = o[key];
  if (v === undefined && optional) return '';
  if (typeof v !== 'string') {
    throw new Error(
      `${where}: field '${key}' must be a string, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`,
    );
  }
  return v;
}

function object(value: unknown, where: string, what: string): { [k: string]: unknown } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where}: ${what} must be a JSON object, got ${JSON.stringify(value)?.slice(0, 40)}`);
  }
  return value as { [k: string]: unknown };
}

function nonEmpty(text: string, where: string, key: string): string {
  if (text.trim() === '') throw new Error(`${where}: field '${key}' is empty`);
  return text;
}

function alpacaExample(o: { [k: string]: unknown }, where: string): ChatMessage[] {
  const instruction = nonEmpty(str(o, 'instruction', where), where, 'instruction');
  const input = str(o, 'input', where, true);
  const output = nonEmpty(str(o, 'output', where), where, 'output');
  if (input.trim() === '') {
    return [
      { role: 'user', content: instruction },
      { role: 'assistant', content: output },
    ];
  }
  return [
    { role: 'system', content: ALPACA_INPUT_PREAMBLE },
    { role: 'user', content: `${instruction}\n\n### Input:\n${input}` },
    { role: 'assistant', content: output },
  ];
}

const SHAREGPT_ROLES: { [from: string]: ChatMessage['role'] } = { human: 'user', gpt: 'assistant', system: 'system' };

function checkTurns(messages: ChatMessage[], where: string, field: string, roleKey: string): ChatMessage[] {
  messages.forEach((m, i) => {
    const first = messages[0]?.role === 'system' ? 1 : 0;
    if (m.role === 'system' && i === 0) return;
    const want = (i - first) % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== want) {
      throw new Error(
        `${where}: field '${field}[${i}].${roleKey}' is ${m.role === 'user' ? 'a user' : m.role === 'assistant' ? 'an assistant' : 'a system'} turn where ${want === 'user' ? 'a user' : 'an assistant'} turn is expected (after an optional system message, turns alternate user, assistant)`,
      );
    }
  });
  if (messages[messages.length - 1]?.role !== 'assistant') {
    throw new Error(`${where}: field '${field}' must end with an assistant reply`);
  }
  return messages;
}

function sharegptExample(o: { [k: string]: unknown }, where: string): ChatMessage[] {
  const turns = o.conversations;
  if (!Array.isArray(turns) || turns.length === 0) {
    throw new Error(`${where}: field 'conversations' must be a non-empty array`);
  }
  const messages = turns.map((t, i): ChatMessage => {
    const turn = object(t, where, `conversations[${i}]`);
    const from = turn.from;
    const role = typeof from === 'string' ? SHAREGPT_ROLES[from] : undefined;
    if (role === undefined) {
      throw new Error(
        `${where}: field 'conversations[${i}].from' must be "human", "gpt" or "system", got ${JSON.stringify(from)}`,
      );
    }
    return { role, content: str(turn, 'value', `${where}: conversations[${i}]`) };
  });
  return checkTurns(messages, where, 'conversations', 'from');
}

function gpt4allExample(o: { [k: string]: unknown }, where: string): ChatMessage[] {
  return [
    { role: 'user', content: nonEmpty(str(o, 'prompt', where), where, 'prompt') },
    { role: 'assistant', content: nonEmpty(str(o, 'response', where), where, 'response') },
  ];
}

function chatExample(o: { [k: string]: unknown }, where: string): ChatMessage[] {
  const list = o.messages;
  if (!Array.isArray(list) || list.length === 0)
    throw new Error(`${where}: field 'messages' must be a non-empty array`);
  const messages = list.map((m, i): ChatMessage => {
    const msg = object(m, where, `messages[${i}]`);
    const role = msg.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant') {
      throw new Error(
        `${where}: field 'messages[${i}].role' must be "system", "user" or "assistant", got ${JSON.stringify(role)}`,
      );
    }
    return { role, content: str(msg, 'content', `${where}: messages[${i}]`) };
  });
  return checkTurns(messages, where, 'messages', 'role');
}

const READERS: { [F in InstructionFormat]: (o: { [k: string]: unknown }, where: string) => ChatMessage[] } = {
  alpaca: alpacaExample,
  sharegpt: sharegptExample,
  gpt4all: gpt4allExample,
  'chat-jsonl': chatExample,
};

/**
 * Parses instruction data in `format` from the text of `file` (a JSON array or JSON lines, whichever the text is).
 *
 * @throws Error `file:line: field 'x' …` for a malformed record, `file:line: invalid JSON …` for bad syntax.
 */
export function parseInstructionData(text: string, format: InstructionFormat, file: string): InstructionExample[] {
  const reader = READERS[format];
  if (reader === undefined) {
    throw new Error(`unknown instruction format '${format as string}' (${INSTRUCTION_FORMATS.join(', ')})`);
  }
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records = body.trimStart().startsWith('[') ? arrayRecords(body, file) : lineRecords(body, file);
  if (records.length === 0) throw new Error(`${file}: no records`);
  return records.map(({ value, line }) => {
    const where = `${file}:${line}`;
    return { messages: reader(object(value, where, 'a record'), where), source: where };
  });
}

/** Reads an instruction-data file (see {@link parseInstructionData}). */
export async function readInstructionData(path: string, format: InstructionFormat): Promise<InstructionExample[]> {
  let text: string;
  try {
    // Node's file system on first use: parseInstructionData (bytes already read) runs in browsers.
    const { readFile } = await import('node:fs/promises');
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read instruction data ${path}: ${(e as Error).message}`);
  }
  return parseInstructionData(text, format, path);
}
