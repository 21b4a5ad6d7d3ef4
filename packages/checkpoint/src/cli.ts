// Entry point of the `andes-convert` bin (bin/andes-convert.js imports this file).
import { main } from './convert-cli.js';

process.exitCode = await main(process.argv.slice(2));
