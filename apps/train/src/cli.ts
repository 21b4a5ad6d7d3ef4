// Entry point of the `andes-train` bin (bin/andes-train.js launches this file): errors print as one line.
import { runMain } from '@andes/cli';
import { main } from './program.js';

await runMain('andes-train', () => main());
