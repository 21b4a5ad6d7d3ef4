#!/usr/bin/env node
// Committed shim: npm links bins at install time, before dist/ exists, so the bin cannot point into dist.
// launchCli runs the CLI with Dawn's adapter warnings kept off the terminal (see @andes/cli).
import { launchCli } from '@andes/cli';

await launchCli(new URL('../dist/cli.js', import.meta.url));
