// Entry point of the `andes-serve` bin (bin/andes-serve.js launches this file): errors print as one line.
import { runMain } from '@andes/cli';
import { main } from './cli.js';

await runMain('andes-serve', () => main());
