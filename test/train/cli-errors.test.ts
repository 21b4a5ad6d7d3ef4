import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-train-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI and expects it to fail with `message` on stderr, before any training starts. */
function expectError(args: string[], message: RegExp): void {
  const result = runCli(args);
  expect(result.status, result.stderr).not.toBe(0);
  expect(result.stderr).toMatch(message);
  expect(result.stdout).not.toMatch(/^step /m);
}

describe('andes-train errors name the flag or field and the bad value', () => {
  it('rejects bad flag values', () => {
    expectError(['pretrain', '--lr', 'fast'], /flag --lr: expected a number, got "fast"/);
    expectError(['pretrain', '--batch-size', '0'], /flag --batch-size: expected a number >= 1, got "0"/);
    expectError(['pretrain', '--seq-len', '12.5'], /flag --seq-len: expected an integer, got "12.5"/);
    expectError(['pretrain', '--backend', 'metal'], /flag --backend: expected one of .*got "metal"/);
    expectError(['pretrain', '--model', 'hidden_size'], /flag --model: expected key=value/);
  });

  it('rejects unknown flags and commands', () => {
    expectError(['pretrain', '--learning-rate', '1'], /unknown option '--learning-rate'/);
    expectError(['train'], /too many arguments|unknown command/);
  });

  it('rejects bad config files, naming the file and field', () => {
    const typo = join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ learningRate: 1e-3 }));
    expectError(['pretrain', '--config', typo], /typo\.json: unknown field "learningRate"/);
    const wrongType = join(dir, 'wrong.json');
    writeFileSync(wrongType, JSON.stringify({ steps: 'many' }));
    expectError(['pretrain', '--config', wrongType], /wrong\.json field "steps": expected an integer, got "many"/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "steps": ');
    expectError(['pretrain', '--config', broken], /broken\.json: not valid JSON/);
    expectError(['pretrain', '--config', join(dir, 'missing.json')], /flag --config: cannot read .*missing\.json/);
  });

  it('rejects bad plan, sample and resume arguments', () => {
    expectError(['plan'], /missing --params <count> or --preset <name>/);
    expectError(['plan', '--params', '-5'], /flag --params: expected a positive number .*got "-5"/);
    expectError(['plan', '--preset', 'llama-8b'], /unknown preset 'llama-8b'/);
    expectError(['sample', dir, '--temperature', '-1'], /flag --temperature: expected a number >= 0, got "-1"/);
    expectError(['sample', dir], /neither a model directory/);
    expectError(['resume', dir], /not a run directory \(no config\.json\)/);
  });
});

describe('andes-train plan', () => {
  it('prints the Chinchilla numbers for LLaMA-7B on 1T tokens as JSON', () => {
    const result = runCli(['plan', '--preset', 'llama-7b', '--tokens', '1e12', '--json']);
    expect(result.status, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.params).toBeGreaterThan(6.7e9);
    expect(plan.params).toBeLessThan(6.8e9);
    expect(plan.overTrainFactor).toBeGreaterThan(7);
    expect(plan.overTrainFactor).toBeLessThan(7.6);
    expect(plan.flops).toBeCloseTo(6 * plan.params * 1e12, -15);
  });

  it('prints 1.4T compute-optimal tokens for 70B parameters', () => {
    const result = runCli(['plan', '--params', '70e9', '--throughput', '1e18']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/compute-optimal tokens \(20 per parameter\): 1\.40T/);
    expect(result.stdout).toMatch(/time at the given throughput: +6\.8 days/);
  });
});
