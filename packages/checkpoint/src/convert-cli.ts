/**
 * `andes-convert INPUT OUTPUT [--dtype f32|f16|bf16|q8_0|q4_0] [--verify]`: argument parsing, progress lines and
 * error reporting around {@link convertModel}. User errors print `andes-convert: <what> (<what to do>)`, never a
 * stack trace.
 *
 * @module
 */
import { getBackend, initBackend, setBackend } from '@andes/tensor';
import { Command, CommanderError, Option } from 'commander';
import { convertModel } from './convert-model.js';
import { modelFormatOf } from './load-model.js';
import { WEIGHT_DTYPES, type WeightDtype } from './weight-dtype.js';

const formatNames = { gguf: 'GGUF', llama2c: 'llama2.c .bin', hf: 'Hugging Face directory' } as const;

/** Turns an error into the one line the CLI prints: what went wrong and what to do. */
export function describeError(err: unknown): string {
  if (err instanceof CommanderError) return `${err.message.replace(/^error: /, '')} (see andes-convert --help)`;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return `cannot read ${e.path ?? 'the input'}: no such file or directory (check the path)`;
  if (e.code === 'EACCES') return `cannot access ${e.path}: permission denied (check the file's permissions)`;
  if (e.code === 'ENOSPC') return 'the disk is full (free space, or write the output elsewhere)';
  const message = e instanceof Error ? e.message : String(err);
  return `${message} (check the input file, or convert with another --dtype)`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Runs the CLI on `argv` (without node and the script) and returns the exit code. Output goes to `out`, errors to
 * `err` (the console by default).
 */
export async function main(
  argv: readonly string[],
  out: (line: string) => void = (l) => console.log(l),
  err: (line: string) => void = (l) => console.error(l),
): Promise<number> {
  const program = new Command('andes-convert')
    .description(
      'Convert a LLaMA model between formats, chosen by name: *.gguf (llama.cpp), *.bin (llama2.c, tokenizer.bin beside it), else a Hugging Face directory.',
    )
    .argument('<input>', 'model to read: file.gguf, model.bin or a Hugging Face directory')
    .argument('<output>', 'model to write, same naming')
    .addOption(
      new Option('--dtype <type>', 'weight storage type of the output (GGUF: all; .bin: f32, q8_0; HF: f32, f16, bf16)')
        .choices(WEIGHT_DTYPES as string[])
        .default('f32'),
    )
    .option('--verify', 'run one prompt through source and result and print the max logit difference')
    .option('--prompt <text>', 'prompt for --verify', 'Once upon a time, there was a little')
    .addOption(new Option('--backend <name>', 'backend for --verify').choices(['cpu', 'webgpu', 'auto']).default('cpu'))
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: () => {} });
  try {
    program.parse(argv as string[], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.version'))
      return 0;
    err(`andes-convert: ${describeError(e)}`);
    return 2;
  }
  const [input, output] = program.args as [string, string];
  const opts = program.opts<{ dtype: WeightDtype; verify?: boolean; prompt: string; backend: string }>();
  try {
    if (opts.verify) {
      if (opts.backend === 'auto') await initBackend();
      else await setBackend(opts.backend as 'cpu' | 'webgpu');
    }
    const started = performance.now();
    const report = await convertModel(input, output, { dtype: opts.dtype, verify: opts.verify, prompt: opts.prompt });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    out(
      `andes-convert: ${input} (${formatNames[report.from]}) → ${output} (${formatNames[modelFormatOf(output)]}, ${opts.dtype}): ${report.tensors} tensors, ${megabytes(report.bytes)} in ${seconds} s`,
    );
    for (const w of report.warnings) out(`warning: ${w}`);
    if (report.maxLogitDiff !== undefined) {
      out(
        `verify: max |logit difference| ${report.maxLogitDiff.toExponential(3)} over ${report.verifyTokens} prompt tokens (${getBackend().name} backend)`,
      );
    }
    return 0;
  } catch (e) {
    err(`andes-convert: ${describeError(e)}`);
    return 1;
  }
}
