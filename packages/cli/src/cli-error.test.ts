import { describe, expect, it } from 'vitest';
import { CliError, commanderOutput, formatCliError, isVerbose, userMessage } from './cli-error.js';

describe('formatCliError', () => {
  it('prints a user error as one line with its hint and no stack, even when verbose is off', () => {
    const err = new CliError('runs/x is not empty', 'pass --overwrite to replace it');
    expect(formatCliError('andes-train', err, false)).toBe(
      'andes-train: runs/x is not empty (pass --overwrite to replace it)',
    );
  });

  it('drops internal function and class names that open library messages', () => {
    expect(userMessage('loadModelDir: cannot read a/config.json')).toBe('cannot read a/config.json');
    expect(userMessage('DocumentStream: no validation document')).toBe('no validation document');
    expect(userMessage('evaluatePerplexity: x')).toBe('x');
    // Command names and ordinary words stay.
    expect(userMessage('resume: no checkpoint in "a"')).toBe('resume: no checkpoint in "a"');
    expect(userMessage('Cannot find: x')).toBe('Cannot find: x');
  });

  it('says how to see the stack of an unexpected error, and shows stack and causes when verbose', () => {
    const inner = new RangeError('bad index 7');
    const err = new Error('step failed\nsecond line', { cause: inner });
    const quiet = formatCliError('andes-eval', err, false);
    expect(quiet).toBe('andes-eval: step failed second line (run with --verbose or DEBUG=1 for the stack trace)');
    const loud = formatCliError('andes-eval', err, true).split('\n');
    expect(loud[0]).toBe('andes-eval: step failed second line');
    expect(loud.some((l) => l.startsWith('    at '))).toBe(true);
    expect(loud.some((l) => l.startsWith('caused by: RangeError: bad index 7'))).toBe(true);
  });

  it('formats non-Error throws', () => {
    expect(formatCliError('andes-serve', 'boom', true)).toBe('andes-serve: boom');
  });
});

describe('isVerbose', () => {
  it('is on for --verbose or a DEBUG other than empty or 0', () => {
    expect(isVerbose(['node', 'x', '--verbose'], {})).toBe(true);
    expect(isVerbose(['node', 'x'], { DEBUG: '1' })).toBe(true);
    expect(isVerbose(['node', 'x'], { DEBUG: '0' })).toBe(false);
    expect(isVerbose(['node', 'x'], {})).toBe(false);
  });
});

describe('commanderOutput', () => {
  const render = (text: string) => {
    let out = '';
    commanderOutput('andes-train').outputError(text, (s) => {
      out += s;
    });
    return out;
  };
  it("rewrites commander's errors into the one-line format", () => {
    expect(render("error: unknown option '--x'\n")).toBe(
      "andes-train: unknown option '--x' (run with --help for usage)\n",
    );
    expect(render("error: unknown option '--lr2'\n(Did you mean --lr?)\n")).toBe(
      "andes-train: unknown option '--lr2' (Did you mean --lr?)\n",
    );
  });
});
