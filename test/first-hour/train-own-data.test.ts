/**
 * Issue 10, item 1: a new user trains on their own text. Small files train at once (the validation split adapts
 * with a note), an empty file and broken mixtures fail with one line, and the shipped example mixture works.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expectNoNoise, expectOneLineError, run } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-first-hour-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STORY =
  'Once upon a time, a little fox lived at the edge of a quiet wood. Every morning she ran down to the river to ' +
  'drink and to watch the fish.\n\nOne day the river was high and brown after the rain. The fox sat on a stone ' +
  'and waited, and by evening the water was clear again.\n';

/** The smallest useful run: a few steps, evaluation and checkpoint only at the end, a short sample. */
const QUICK = ['--steps', '2', '--eval-interval', '0', '--sample-interval', '0', '--checkpoint-interval', '0'];
const SAMPLE = [
  '--sample-tokens',
  '4',
  '--prompt',
  'Once',
  '--eval-batches',
  '1',
  '--batch-size',
  '2',
  '--seq-len',
  '32',
  '--tokenizer-bytes',
  '20000',
  '--vocab-size',
  '300',
];

describe('andes-train pretrain on your own text', () => {
  it('trains on a two-paragraph file at once, holding one paragraph out with a printed note', () => {
    writeFileSync(join(dir, 'story.txt'), STORY);
    const result = run('train', ['pretrain', '--data', 'story.txt', ...QUICK, ...SAMPLE, '--out-dir', 'two'], {
      cwd: dir,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/note: story\.txt has 2 distinct documents .* 1 of them is held out/);
    expect(result.stdout).toMatch(/^done: 2 steps/m);
    expectNoNoise(result.stderr);
    // The adapted fraction is what the run keeps, so `resume` splits the same way.
    const saved = JSON.parse(readFileSync(join(dir, 'two', 'config.json'), 'utf8'));
    expect(saved.validationFraction).toBeGreaterThan(0.05);
    expect(saved.validationFraction).toBeLessThan(1);
  });

  it('trains on the same text repeated ten times', () => {
    writeFileSync(join(dir, 'story10.txt'), Array.from({ length: 10 }, () => STORY).join('\n'));
    const result = run('train', ['pretrain', '--data', 'story10.txt', ...QUICK, ...SAMPLE, '--out-dir', 'ten'], {
      cwd: dir,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/story10\.txt has 2 distinct documents/);
    expectNoNoise(result.stderr);
  });

  it('refuses an empty file and a one-paragraph file with one line saying what training needs', () => {
    writeFileSync(join(dir, 'empty.txt'), '');
    expectOneLineError(
      run('train', ['pretrain', '--data', 'empty.txt', ...QUICK, '--out-dir', 'empty'], { cwd: dir }),
      'train',
      /--data empty\.txt: the data has no text \(training needs at least two documents/,
    );
    writeFileSync(join(dir, 'one.txt'), 'Just one paragraph of text, nothing else.\n');
    expectOneLineError(
      run('train', ['pretrain', '--data', 'one.txt', ...QUICK, '--out-dir', 'one'], { cwd: dir }),
      'train',
      /--data one\.txt: .*only one distinct document/,
    );
  });

  it('trains on the shipped example mixture, and names the source of a mixture whose file is missing', () => {
    const example = fileURLToPath(new URL('../../apps/train/examples/mixture.json', import.meta.url));
    const result = run('train', ['pretrain', '--data', example, ...QUICK, ...SAMPLE, '--out-dir', 'mix'], {
      cwd: dir,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^done: 2 steps/m);
    writeFileSync(
      join(dir, 'broken.json'),
      JSON.stringify({ sources: [{ name: 'notes', type: 'text', path: 'missing-notes.txt', weight: 1 }] }),
    );
    expectOneLineError(
      run('train', ['pretrain', '--data', 'broken.json', ...QUICK, '--out-dir', 'broken'], { cwd: dir }),
      'train',
      /mixture broken\.json: source "notes" reads "missing-notes\.txt", which does not exist/,
    );
  });
});
