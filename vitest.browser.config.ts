import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { CHROMIUM, chromiumWebGpuArgs } from './test/chromium.js';

// Runs the *.browser.test.ts suites in headless Chromium on navigator.gpu (lavapipe through ANGLE).
export default defineConfig({
  test: {
    include: ['packages/*/test-browser/**/*.browser.test.ts'],
    testTimeout: 120_000,
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results-browser.json' }]] : ['default'],
    browser: {
      enabled: true,
      headless: true,
      instances: [{ browser: 'chromium' }],
      provider: playwright({
        launchOptions: {
          executablePath: CHROMIUM,
          ignoreDefaultArgs: ['--headless'],
          args: chromiumWebGpuArgs,
        },
      }),
    },
  },
});
