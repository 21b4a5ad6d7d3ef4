#!/usr/bin/env node
// Executable shim: the CLI lives in the compiled dist/ (run `npm run build` first).
import '../dist/cli.js';
