#!/usr/bin/env node
// Committed shim: npm links bins at install time, before dist/ exists, so the bin cannot point into dist.
import '../dist/cli.js';
