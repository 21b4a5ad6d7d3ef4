import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTaskFile, parseTaskJsonl } from './task-file.js';

function writeTemp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'andes-eval-task-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('parseTaskJsonl', () => {
  it('parses the three item forms and skips blank lines', () => {
    const text = [
      '{"context": "The sky is", "choices": ["blue", "green"], "label": 0}',
      '',
      '{"contexts": ["Tom gave Ben the ball because Tom", "Tom gave Ben the ball because Ben"], "continuation": "was done.", "label": 0}',
      '{"prompt": "Q: capital of France?\\nA:", "answers": ["Paris"], "split": "train"}',
    ].join('\n');
    const { rows } = parseTaskJsonl(text, 'x.jsonl');
    expect(rows.map((r) => r.item.kind)).toEqual(['choice', 'partial', 'generation']);
    expect(rows[1]!.item.where).toBe('x.jsonl:3');
    expect(rows[2]!.split).toBe('train');
    expect(rows[2]!.item).toMatchObject({ until: ['\n'] });
  });

  it.each([
    [
      '{"context": "a", "choices": ["x", "y"], "label": 0}\n{"context": "a", "choices": ["x", "y"]',
      /^bad\.jsonl:2: invalid JSON/,
    ],
    [
      '\n\n{"context": "a", "choices": ["x", "y"], "label": 2}',
      /^bad\.jsonl:3: "label" must be an integer in \[0, 1\], got 2/,
    ],
    ['{"context": "a", "choices": ["x"], "label": 0}', /^bad\.jsonl:1: "choices" needs at least 2 entries/],
    ['{"context": 3, "choices": ["x", "y"], "label": 0}', /^bad\.jsonl:1: "context" must be a string/],
    ['{"context": "a", "choices": ["x", ""], "label": 0}', /^bad\.jsonl:1: "choices"\[1\] is empty/],
    ['{"question": "a"}', /^bad\.jsonl:1: unknown item/],
    ['[1, 2]', /^bad\.jsonl:1: each line must be a JSON object/],
    ['{"prompt": "a", "answers": []}', /^bad\.jsonl:1: "answers" needs at least 1/],
    ['{"prompt": "a", "answers": ["b"], "split": "dev"}', /^bad\.jsonl:1: "split" must be one of/],
  ])('reports the file and line of a malformed row: %s', (text, message) => {
    expect(() => parseTaskJsonl(text, 'bad.jsonl')).toThrow(message);
  });
});

describe('loadTaskFile', () => {
  it('takes split=train rows and the sibling .train.jsonl file as the few-shot pool', () => {
    const path = writeTemp(
      'colors.jsonl',
      '{"context": "Grass is", "choices": ["green", "red", "blue"], "label": 0}\n' +
        '{"context": "Snow is", "choices": ["white", "black"], "label": 0, "split": "train"}\n',
    );
    writeFileSync(
      path.replace('.jsonl', '.train.jsonl'),
      '{"context": "Sky is", "choices": ["blue", "red"], "label": 0}\n',
    );
    const task = loadTaskFile(path);
    expect(task.name).toBe('colors');
    expect(task.family).toBe('multiple_choice');
    expect(task.items).toHaveLength(1);
    expect(task.train).toHaveLength(2);
    expect(task.chance).toBeCloseTo(1 / 3, 12);
  });

  it('rejects mixing generation and multiple-choice rows, naming the line', () => {
    const path = writeTemp(
      'mixed.jsonl',
      '{"context": "a", "choices": ["x", "y"], "label": 0}\n{"prompt": "p", "answers": ["q"]}\n',
    );
    expect(() => loadTaskFile(path)).toThrow(/mixed\.jsonl:2: generation item in a multiple_choice task/);
  });

  it('reports errors in the train file with its own name and line', () => {
    const path = writeTemp('t.jsonl', '{"context": "a", "choices": ["x", "y"], "label": 0}\n');
    writeFileSync(path.replace('.jsonl', '.train.jsonl'), '\n{"context": "a", "choices": ["x", "y"], "label": 5}\n');
    expect(() => loadTaskFile(path)).toThrow(/t\.train\.jsonl:2: "label"/);
  });
});
