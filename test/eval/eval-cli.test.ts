import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { syntheticStory } from '@andes/data';
import { createProgram, LocalModel, type PerplexityReport, type TasksReport } from '@andes/eval';
import { setBackend, tensor } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ReferenceModel, referenceModel } from './reference.js';
import { tinyModelDir } from './tiny-model-dir.js';

let dir: string;
let ref: ReferenceModel;
const work = mkdtempSync(join(tmpdir(), 'andes-eval-cli-'));

/** Runs `andes-eval` in-process; returns stdout. */
async function cli(...args: string[]): Promise<string> {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
  let out = '';
  stdout.on('data', (c) => {
    out += c;
  });
  await createProgram({ stdout, stderr })
    .exitOverride()
    .parseAsync(['node', 'andes-eval', ...args, '--backend', 'cpu']);
  return out;
}

// Multiple-choice items over real story text, plus a WinoGrande-style partial item.
const story = syntheticStory(11, 0);
const items = [
  { context: story.slice(0, 60), choices: ['the cat', 'a dog ran', 'Lily'], label: 0 },
  { context: story.slice(0, 140), choices: [' ball', 'kite', 'hat', 'apple pie'], label: 2 },
  { context: 'Once upon a time, there was a little girl named', choices: ['Lily', 'Tom'], label: 1 },
  { context: story.slice(0, 400), choices: ['and then', 'The end.'], label: 1 }, // longer than the context window
  { context: 'She ', choices: ['was happy.', 'was sad.', 'ran'], label: 0 },
];
const partial = {
  contexts: ['Tom gave Lily the ball because Tom', 'Tom gave Lily the ball because Lily'],
  continuation: 'was kind.',
  label: 0,
};

beforeAll(async () => {
  await setBackend('cpu');
  dir = await tinyModelDir({ seed: 3 });
  ref = await referenceModel(dir);
});

describe('andes-eval tasks (local model directory)', () => {
  it('scores equal the float64 reference of plain forwards, and acc/acc_norm follow from them', async () => {
    const taskFile = join(work, 'mc.jsonl');
    writeFileSync(taskFile, [...items, ...[partial]].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const json = join(work, 'mc.json');
    const report = join(work, 'mc.md');
    const samplesFile = join(work, 'mc.samples.jsonl');
    const flags = ['--json', json, '--report', report, '--batch-size', '3', '--log-samples', samplesFile];
    const out = await cli('tasks', '--model', dir, '--tasks', taskFile, ...flags);

    // Per-request log-likelihoods of the local model vs the reference.
    const local = await LocalModel.load(dir);
    const requests = items.flatMap((it) => it.choices.map((c) => ({ context: it.context, continuation: ` ${c}` })));
    const got = await local.loglikelihood(requests);
    const expected = await Promise.all(requests.map((r) => ref.loglikelihood(r.context, r.continuation)));
    got.forEach((g, i) => {
      expect(g.logprob).toBeCloseTo(expected[i]!.logprob, 3);
      expect(g.isGreedy).toBe(expected[i]!.isGreedy);
    });

    // acc / acc_norm recomputed from the reference (acc_norm divides by len(choice), without the space).
    let k = 0;
    let acc = 0;
    let accNorm = 0;
    for (const it of items) {
      const lls = it.choices.map(() => expected[k++]!.logprob);
      const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));
      acc += argmax(lls) === it.label ? 1 : 0;
      accNorm += argmax(lls.map((l, i) => l / it.choices[i]!.length)) === it.label ? 1 : 0;
    }
    const pa = await Promise.all(partial.contexts.map((c) => ref.loglikelihood(c, ` ${partial.continuation}`)));
    acc += (pa[0]!.logprob >= pa[1]!.logprob ? 0 : 1) === partial.label ? 1 : 0;
    // The logged samples carry the CLI's own per-choice log-likelihoods: they equal the reference too.
    const samples = readFileSync(samplesFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(samples).toHaveLength(6);
    expect(samples[0]).toMatchObject({
      model: dir,
      task: 'mc',
      where: `${taskFile}:1`,
      label: 0,
      choices: items[0]!.choices,
    });
    const flat = samples.slice(0, 5).flatMap((x) => x.logprobs as number[]);
    expect(flat).toHaveLength(expected.length);
    for (const [i, lp] of flat.entries()) expect(lp).toBeCloseTo(expected[i]!.logprob, 3);
    for (const [i, lp] of (samples[5].logprobs as number[]).entries()) expect(lp).toBeCloseTo(pa[i]!.logprob, 3);
    const result = (JSON.parse(readFileSync(json, 'utf8')) as TasksReport).models[0]!.results[0]!;
    expect(result.samples).toBeUndefined();
    expect(result.n).toBe(6);
    expect(result.metrics.acc!.value).toBeCloseTo(acc / 6, 12);
    const p = acc / 6;
    expect(result.metrics.acc!.stderr!).toBeCloseTo(Math.sqrt((p * (1 - p)) / 5), 12);
    // The partial item has no acc_norm, so the task reports none.
    expect(result.metrics.acc_norm).toBeUndefined();
    expect(out).toMatch(/mc\s+│ 6/);
    expect(readFileSync(report, 'utf8')).toContain(`| mc | 6 | 0 | acc |`);

    // The same items without the partial one do get acc_norm.
    const mcOnly = join(work, 'mc-only.jsonl');
    writeFileSync(mcOnly, items.map((r) => JSON.stringify(r)).join('\n'));
    await cli('tasks', '--model', dir, '--tasks', mcOnly, '--json', json);
    const r2 = (JSON.parse(readFileSync(json, 'utf8')) as TasksReport).models[0]!.results[0]!;
    expect(r2.metrics.acc_norm!.value).toBeCloseTo(accNorm / items.length, 12);
    await local.close();
  });

  it('puts several models side by side in one report (--model a --model b)', async () => {
    const other = await tinyModelDir({ seed: 9 });
    const file = join(work, 'two.jsonl');
    writeFileSync(file, items.map((r) => JSON.stringify(r)).join('\n'));
    const json = join(work, 'two.json');
    const md = join(work, 'two.md');
    const out = await cli('tasks', '--model', dir, '--model', other, '--tasks', file, '--json', json, '--report', md);
    const report = JSON.parse(readFileSync(json, 'utf8')) as TasksReport;
    expect(report.models.map((m) => m.model)).toEqual([dir, other]);
    // Each column is that model's own evaluation.
    for (const m of report.models) {
      const alone = join(work, 'alone.json');
      await cli('tasks', '--model', m.model, '--tasks', file, '--json', alone);
      expect((JSON.parse(readFileSync(alone, 'utf8')) as TasksReport).models[0]!.results).toEqual(m.results);
    }
    const header = readFileSync(md, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('| Task'))!;
    expect(header).toBe(`| Task | n | Shots | Metric | Chance | ${dir} | ${other} |`);
    expect(out.split('\n')[0]).toContain(other);
  });

  it('runs the built-in story tasks when --tasks is not given', async () => {
    const json = join(work, 'builtin.json');
    const out = await cli('tasks', '--model', dir, '--builtin-items', '4', '--json', json);
    const results = (JSON.parse(readFileSync(json, 'utf8')) as TasksReport).models[0]!.results;
    expect(results.map((r) => [r.task, r.n, r.chance])).toEqual([
      ['story-continuation', 4, 0.25],
      ['story-names', 4, 0.25],
      ['name-recall', 4, 0.25],
      ['object-recall', 4, 0.25],
    ]);
    expect(out).toContain('object-recall');
  });

  it('scores a generation task by exact match against the greedy output', async () => {
    // The answer is the reference's own greedy continuation, so exact match must be 1 if generation is right.
    const prompt = 'Once upon a time, there was';
    const ids = [ref.tokenizer.bosId, ...ref.tokenizer.encode(prompt)];
    const generated: number[] = [];
    for (let i = 0; i < 6; i++) {
      const input = [...ids, ...generated];
      const logits = ref.model.forward(tensor(Int32Array.from(input), [1, input.length], { dtype: 'int32' }));
      const row = Array.from(await logits.data()).slice((input.length - 1) * ref.tokenizer.vocabSize);
      logits.dispose();
      const next = row.indexOf(Math.max(...row));
      if (next === ref.tokenizer.eosId) break;
      generated.push(next);
    }
    const answer = ref.tokenizer.decode([...ids, ...generated]).slice(ref.tokenizer.decode(ids).length);
    const file = join(work, 'gen.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ prompt, answers: [answer], until: ['\u0001'] })}\n${JSON.stringify({ prompt, answers: ['zzz qqq'], until: ['\u0001'] })}\n`,
    );
    const json = join(work, 'gen.json');
    await cli('tasks', '--model', dir, '--tasks', file, '--json', json, '--max-gen-tokens', '6');
    const result = (JSON.parse(readFileSync(json, 'utf8')) as TasksReport).models[0]!.results[0]!;
    expect(result.metrics.exact_match!.value).toBe(0.5);
    expect(result.metrics.f1!.value).toBe(0.5);
  });

  it('fails on a malformed task file with the file and line number, before loading any model', async () => {
    const bad = join(work, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify(items[0])}\n\n{"context": "x", "choices": ["a", "b"], "label": 7}\n`);
    await expect(cli('tasks', '--model', '/nonexistent', '--tasks', bad)).rejects.toThrow(
      `${bad}:3: "label" must be an integer in [0, 1], got 7`,
    );
    writeFileSync(
      bad,
      '{"context": "x", "choices": ["a", "b"], "label": 0}\n{"context": "x", "choices": ["a", "b"], "label": 0,}\n',
    );
    await expect(cli('tasks', '--model', '/nonexistent', '--tasks', bad)).rejects.toThrow(`${bad}:2: invalid JSON`);
  });
});

describe('andes-eval perplexity', () => {
  it('gives bits per byte = log2(vocab) × tokens / bytes for a uniform model (zero lm_head)', async () => {
    const uniform = await tinyModelDir({ uniform: true });
    const docs = [syntheticStory(5, 1), 'Short text, with “unicode” — ünïcödé.'];
    const files = docs.map((d, i) => {
      const f = join(work, `doc${i}.txt`);
      writeFileSync(f, d);
      return f;
    });
    const json = join(work, 'ppl.json');
    await cli('perplexity', '--model', uniform, '--data', files.join(','), '--context', '32', '--json', json);
    const r = (JSON.parse(readFileSync(json, 'utf8')) as PerplexityReport).models[0]!.result;
    const tokens = docs.reduce((s, d) => s + ref.tokenizer.encode(d).length, 0);
    const bytes = docs.reduce((s, d) => s + Buffer.byteLength(d), 0);
    expect(r.tokens).toBe(tokens);
    expect(r.bytes).toBe(bytes);
    expect(r.bitsPerByte).toBeCloseTo((Math.log2(ref.tokenizer.vocabSize) * tokens) / bytes, 5);
  });

  it('sums the reference log-probabilities of every token once (disjoint windows of --context)', async () => {
    const text = syntheticStory(5, 2);
    const file = join(work, 'story.txt');
    writeFileSync(file, text);
    const json = join(work, 'ppl2.json');
    const L = 24;
    await cli('perplexity', '--model', dir, '--data', file, '--context', String(L), '--json', json);
    const r = (JSON.parse(readFileSync(json, 'utf8')) as PerplexityReport).models[0]!.result;
    // Reference: disjoint chunks of L targets; chunk c (c ≥ 1) reads the L tokens before its last target.
    const ids = ref.tokenizer.encode(text);
    let expected = (await ref.logprobs([ref.tokenizer.bosId, ...ids.slice(0, L)])).reduce((a, b) => a + b, 0);
    for (let start = L; start < ids.length; start += L) {
      const end = Math.min(ids.length, start + L);
      const lps = await ref.logprobs(ids.slice(end - 1 - L, end));
      expected += lps.slice(lps.length - (end - start)).reduce((a, b) => a + b, 0);
    }
    expect(r.tokens).toBe(ids.length);
    // Relative: a random model's summed log-probability is large.
    expect(Math.abs(r.logprob - expected) / Math.abs(expected)).toBeLessThan(1e-6);
    expect(Math.log(r.tokenPerplexity)).toBeCloseTo(-expected / ids.length, 5);
  });
});
