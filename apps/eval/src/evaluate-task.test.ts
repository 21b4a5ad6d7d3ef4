import { describe, expect, it } from 'vitest';
import { evaluateTask } from './evaluate-task.js';
import type { GenerateOptions, LogLikelihoodModel, LoglikelihoodRequest } from './model.js';
import { assembleTask, parseTaskJsonl } from './task-file.js';

/** A fake model whose log-likelihood is a fixed function of the request, recording what it was asked. */
class ScriptedModel implements LogLikelihoodModel {
  readonly name = 'scripted';
  readonly seen: LoglikelihoodRequest[] = [];
  readonly prompts: string[] = [];
  constructor(
    private readonly score: (r: LoglikelihoodRequest) => number,
    private readonly reply: (p: string) => string = () => '',
  ) {}
  async loglikelihood(requests: LoglikelihoodRequest[]) {
    this.seen.push(...requests);
    return requests.map((r) => ({ logprob: this.score(r), isGreedy: false }));
  }
  async loglikelihoodRolling(): Promise<never> {
    throw new Error('unused');
  }
  async generate(prompts: string[], options: GenerateOptions) {
    this.prompts.push(...prompts);
    return prompts.map((p) => this.reply(p).split(options.until[0]!)[0]!);
  }
  async close() {}
}

function task(lines: object[]) {
  return assembleTask('t', parseTaskJsonl(lines.map((l) => JSON.stringify(l)).join('\n'), 't.jsonl').rows, 't.jsonl');
}

describe('evaluateTask (multiple choice)', () => {
  it('computes acc by raw log-likelihood and acc_norm by log-likelihood per character of the choice', async () => {
    // Log-likelihood = -(continuation length) * rate, with a per-choice rate: long choices lose on acc,
    // but acc_norm divides by len(choice) (not counting the leading space).
    const rate: Record<string, number> = { ' a': 1, ' bbbbbbbbbb': 0.5, ' cc': 2, ' dddd': 0.9 };
    const model = new ScriptedModel((r) => -rate[r.continuation]! * r.continuation.length);
    const t = task([
      { context: 'x', choices: ['a', 'bbbbbbbbbb'], label: 1 }, // lls: -2, -5.5 → acc 0; normed: -2, -0.55 → 1
      { context: 'y', choices: ['cc', 'dddd'], label: 0 }, // lls: -6, -4.5 → acc 0; normed -3, -1.125 → 0
      { context: 'z', choices: ['a', 'cc'], label: 0 }, // lls: -2, -6 → acc 1; normed: -2, -3 → 1
    ]);
    const result = await evaluateTask(model, t);
    expect(model.seen[0]).toEqual({ context: 'x', continuation: ' a' });
    expect(result.metrics.acc!.value).toBeCloseTo(1 / 3, 12);
    expect(result.metrics.acc_norm!.value).toBeCloseTo(2 / 3, 12);
    const p = 2 / 3;
    expect(result.metrics.acc_norm!.stderr!).toBeCloseTo(Math.sqrt((p * (1 - p)) / 2), 12);
    expect(result.chance).toBeCloseTo(0.5, 12);
  });

  it('scores the shared continuation after each context in the partial form and reports only acc', async () => {
    const model = new ScriptedModel((r) => (r.context.endsWith('Ben') ? -1 : -2));
    const t = task([
      { contexts: ['Tom thanked Ben because Tom', 'Tom thanked Ben because Ben'], continuation: 'helped.', label: 1 },
      { contexts: ['Ben', 'Tom'], continuation: 'x', label: 1 },
    ]);
    const result = await evaluateTask(model, t);
    expect(model.seen[1]).toEqual({ context: 'Tom thanked Ben because Ben', continuation: ' helped.' });
    expect(result.metrics.acc!.value).toBe(0.5);
    expect(result.metrics.acc_norm).toBeUndefined();
  });

  it('puts reproducible k-shot examples from the train split before each context', async () => {
    const rows = [
      { context: 'Q1', choices: ['a', 'b'], label: 0 },
      { context: 'Q2', choices: ['a', 'b'], label: 1 },
      ...Array.from({ length: 6 }, (_, i) => ({
        context: `T${i}`,
        choices: [`yes${i}`, `no${i}`],
        label: i % 2,
        split: 'train',
      })),
    ];
    const runs = await Promise.all(
      [0, 1].map(async () => {
        const model = new ScriptedModel(() => -1);
        await evaluateTask(model, task(rows), { shots: 2, seed: 7 });
        return model.seen.map((r) => r.context);
      }),
    );
    expect(runs[0]).toEqual(runs[1]);
    const ctx = runs[0]![0]!;
    expect(ctx).toMatch(/^T\d (yes|no)\d\n\nT\d (yes|no)\d\n\nQ1$/);
    for (const m of ctx.matchAll(/T(\d) (yes|no)(\d)/g)) expect(m[2]).toBe(Number(m[1]) % 2 === 0 ? 'yes' : 'no');
    await expect(evaluateTask(new ScriptedModel(() => -1), task(rows), { shots: 7 })).rejects.toThrow(/--shots 7/);
  });

  it('honours --limit', async () => {
    const model = new ScriptedModel(() => -1);
    const result = await evaluateTask(
      model,
      task([0, 1, 2].map((i) => ({ context: `${i}`, choices: ['a', 'b'], label: 0 }))),
      {
        limit: 2,
      },
    );
    expect(result.n).toBe(2);
    expect(model.seen).toHaveLength(4);
  });
});

describe('evaluateTask (generation)', () => {
  it('scores exact match and F1 of the output cut at the stop string', async () => {
    const model = new ScriptedModel(
      () => 0,
      (p) => (p.includes('France') ? ' Paris\nQ: more' : ' the big red ball'),
    );
    const t = task([
      { prompt: 'Q: capital of France?\nA:', answers: ['Paris'] },
      { prompt: 'Q: what did Tom lose?\nA:', answers: ['red ball game'] },
    ]);
    const result = await evaluateTask(model, t, { logSamples: true });
    expect(result.samples![0]).toEqual({
      where: 't.jsonl:1',
      prompt: 'Q: capital of France?\nA:',
      answers: ['Paris'],
      output: ' Paris',
      metrics: { exact_match: 1, f1: 1 },
    });
    expect(result.metrics.exact_match!.value).toBe(0.5);
    expect(result.metrics.f1!.value).toBeCloseTo((1 + 2 / 3) / 2, 12);
  });
});
