import { describe, expect, it } from 'vitest';
import { buildProgram, type CliOptions } from './cli.js';

/** The options `andes-serve` parses from `args` (commander exits throw instead of ending the process). */
function parse(args: string[]): CliOptions {
  const program = buildProgram()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  program.parse(['node', 'andes-serve', '--model', 'm', ...args]);
  return program.opts<CliOptions>();
}

describe('andes-serve --prefill-first', () => {
  it('leaves the default to the scheduler, always without a value or with `always`, adaptive, off', () => {
    expect(parse([]).prefillFirst).toBeUndefined();
    expect(parse(['--prefill-first', 'off']).prefillFirst).toBe(false);
    expect(parse(['--prefill-first']).prefillFirst).toBe(true);
    expect(parse(['--prefill-first', 'always']).prefillFirst).toBe(true);
    expect(parse(['--prefill-first', 'adaptive', '--port', '0']).prefillFirst).toBe('adaptive');
    // A following flag is not taken for the policy.
    expect(parse(['--prefill-first', '--port', '0'])).toMatchObject({ prefillFirst: true, port: 0 });
  });

  it('names the policies it takes when given another', () => {
    expect(() => parse(['--prefill-first', 'sometimes'])).toThrow(/expected always, adaptive or off, got 'sometimes'/);
  });
});

describe('andes-serve --compute-nice and --helper-nice', () => {
  it('take 0–19 nice levels; compute-nice is 0 by default, helper-nice absent (the loader default)', () => {
    expect(parse([]).computeNice).toBe(0);
    expect(parse([]).helperNice).toBeUndefined();
    expect(parse(['--compute-nice', '5', '--helper-nice', '0'])).toMatchObject({ computeNice: 5, helperNice: 0 });
    expect(parse(['--compute-nice', '19', '--helper-nice', '19'])).toMatchObject({ computeNice: 19, helperNice: 19 });
  });

  it('name the range when given a value outside it', () => {
    for (const flag of ['--compute-nice', '--helper-nice']) {
      for (const bad of ['20', '-1', '2.5', 'low']) {
        expect(() => parse([flag, bad])).toThrow(`expected 0–19 nice levels, got '${bad}'`);
      }
    }
  });
});

describe('andes-serve --warm-up', () => {
  it('is auto by default, takes sizes and short, and names the modes when given another', () => {
    expect(parse([]).warmUp).toBe('auto');
    expect(parse(['--warm-up', 'sizes']).warmUp).toBe('sizes');
    expect(parse(['--warm-up', 'short', '--port', '0'])).toMatchObject({ warmUp: 'short', port: 0 });
    expect(() => parse(['--warm-up', 'full'])).toThrow(/expected auto \| sizes \| short, got 'full'/);
  });
});

describe('andes-serve --refill-wait', () => {
  it('is absent by default (the scheduler decides), takes milliseconds ≥ 0, and names what it expects otherwise', () => {
    expect(parse([]).refillWait).toBeUndefined();
    expect(parse(['--refill-wait', '0']).refillWait).toBe(0);
    expect(parse(['--refill-wait', '35', '--port', '0'])).toMatchObject({ refillWait: 35, port: 0 });
    for (const bad of ['-1', '2.5', 'soon']) {
      expect(() => parse(['--refill-wait', bad])).toThrow(`expected an integer ≥ 0, got '${bad}'`);
    }
  });
});

describe('andes-serve --dtype', () => {
  it('is auto by default, takes keep or a type to round through, and names the choices otherwise', () => {
    expect(parse([]).dtype).toBe('auto');
    expect(parse(['--dtype', 'keep']).dtype).toBe('keep');
    expect(parse(['--dtype', 'f32']).dtype).toBe('f32');
    expect(parse(['--dtype', 'q4_0', '--port', '0'])).toMatchObject({ dtype: 'q4_0', port: 0 });
    expect(() => parse(['--dtype', 'q4_k_m'])).toThrow(
      /expected auto, keep, f32, f16, bf16, q8_0 or q4_0, got 'q4_k_m'/,
    );
  });
});
