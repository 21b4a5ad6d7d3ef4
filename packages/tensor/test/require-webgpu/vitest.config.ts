import { defineConfig } from 'vitest/config';

// Run by src/testing/require-webgpu.test.ts in a child process where no adapter can be found.
export default defineConfig({
  test: { root: import.meta.dirname, include: ['*.fixture.ts'], pool: 'forks', maxWorkers: 1 },
});
