// Entry point of the `andes-train` bin (bin/andes-train.js imports this file).
import { main } from './program.js';

await main();
