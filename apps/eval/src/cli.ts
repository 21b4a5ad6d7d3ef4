/**
 * Entry point of the `andes-eval` executable: runs the program and turns errors into one line and exit code 1.
 * @module
 */
import { createProgram } from './program.js';

createProgram()
  .parseAsync(process.argv)
  .then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`andes-eval: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
