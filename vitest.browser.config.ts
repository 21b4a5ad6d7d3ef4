import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

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
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          ignoreDefaultArgs: ['--headless'],
          args: [
            '--headless=new',
            '--use-angle=vulkan',
            '--use-webgpu-adapter=opengles',
            '--enable-unsafe-webgpu',
            '--no-sandbox',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        },
      }),
    },
  },
});
