/**
 * Entry point of the `andes-eval` executable: runs the program; errors print as one `andes-eval: …` line (see
 * `@andes/cli`) and exit with status 1. Success exits explicitly: a live GPU device would keep the process running.
 * @module
 */
import { runMain } from '@andes/cli';
import { createProgram } from './program.js';

await runMain('andes-eval', async () => {
  await createProgram().parseAsync(process.argv);
});
process.exit(0);
