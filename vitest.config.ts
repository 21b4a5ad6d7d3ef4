import { defineConfig } from 'vitest/config';

// One Node test run over every package, app and the cross-package tests in test/.
// Packages are imported through their built dist/ (run `npm run build` first; `npm test` does).
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.browser.test.ts'],
    pool: 'forks',
    // Kernel autotuning times candidates at the first sync of each new shape class; tests use the fixed per-adapter
    // defaults (and pin variants explicitly) unless ANDES_TUNE is set.
    env: { ANDES_TUNE: process.env.ANDES_TUNE ?? 'off' },
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
  },
});
