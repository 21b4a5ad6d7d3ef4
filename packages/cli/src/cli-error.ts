/**
 * The one error format of every Andes CLI: `andes-<tool>: <what is wrong> (<what to do>)` on one line, with the stack
 * trace only under `--verbose` or `DEBUG`.
 *
 * @module
 */

/**
 * A mistake the user can fix (a bad flag, a missing file, a directory that is not a run). It prints as
 * `andes-<tool>: <message> (<hint>)` and never with a stack trace, whatever the verbosity.
 */
export class CliError extends Error {
  /** What to do about it, e.g. `pass --overwrite to replace it`; printed in parentheses after the message. */
  readonly hint: string | undefined;

  /** @param message what is wrong; @param hint what to do; @param options `cause` for `--verbose`. */
  constructor(message: string, hint?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.hint = hint;
  }
}

/** Whether stack traces are wanted: `--verbose` on the command line or a non-empty `DEBUG` other than `0`. */
export function isVerbose(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--verbose') || (env.DEBUG !== undefined && env.DEBUG !== '' && env.DEBUG !== '0');
}

// Library errors start with the class or function that raised them (`loadModelDir: …`, `DocumentStream: …`), which
// helps a library user and means nothing to a CLI user. Such names are camel- or PascalCase with a capital inside;
// command names (`resume: …`) are lower case and stay.
const INTERNAL_PREFIX = /^(?:[a-z]+[A-Z]|[A-Z][a-z]+[A-Z])[A-Za-z0-9.]*: /;

/** The message without a leading internal function or class name. */
export function userMessage(message: string): string {
  let out = message;
  while (INTERNAL_PREFIX.test(out)) out = out.replace(INTERNAL_PREFIX, '');
  return out;
}

/**
 * The text printed for `err` by CLI `tool` (e.g. `andes-train`): one line `tool: message (hint)`; with `verbose`, the
 * stack trace (and its causes) follows on the next lines. Errors that are not {@link CliError}s are unexpected, so
 * their line says how to see the stack.
 */
export function formatCliError(tool: string, err: unknown, verbose: boolean): string {
  const message = userMessage(err instanceof Error ? err.message : String(err)).trim();
  let hint: string | undefined;
  if (err instanceof CliError) hint = err.hint;
  else if (!verbose) hint = 'run with --verbose or DEBUG=1 for the stack trace';
  // One line: a message that spans lines is joined, so the prefix stays the first thing on the only line.
  const line = `${tool}: ${message.split('\n').join(' ')}${hint ? ` (${hint})` : ''}`;
  if (!verbose || !(err instanceof Error)) return line;
  const stacks: string[] = [];
  let cause: unknown = err;
  while (cause instanceof Error && stacks.length < 5) {
    stacks.push(cause.stack ?? String(cause));
    cause = cause.cause;
  }
  return `${line}\n${stacks.join('\ncaused by: ')}`;
}

/**
 * Runs a CLI's `main` and turns a thrown error into {@link formatCliError}'s line on stderr and exit status 1.
 * Exits explicitly on failure: a live GPU device would otherwise keep the process running.
 */
export async function runMain(tool: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    process.stderr.write(`${formatCliError(tool, err, isVerbose())}\n`);
    process.exit(1);
  }
}

/**
 * commander's `configureOutput` settings that print its errors in the same format:
 * `andes-train: unknown option '--lr2' (Did you mean --lr?)`, or with `(run with --help for usage)` when commander
 * has no suggestion. Call before adding subcommands (they inherit it).
 */
export function commanderOutput(tool: string): { outputError: (str: string, write: (str: string) => void) => void } {
  return {
    outputError: (str, write) => {
      const lines = str
        .replace(/^error: /, '')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
      const [first = 'invalid arguments', ...rest] = lines;
      const suggestion = rest.find((l) => l.startsWith('('));
      write(`${tool}: ${first} ${suggestion ?? '(run with --help for usage)'}\n`);
    },
  };
}
