/**
 * One conformance suite, every backend: `describeBackends(title, fn)` declares fn's tests once per available backend;
 * `describeWebGpu(title, fn)` declares tests that need WebGPU (comparisons against the CPU, served models on the
 * GPU). Both follow the one probe of `webgpu-probe.ts`.
 *
 * @module
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { BackendName } from '../backend/backend.js';
import { setBackend } from '../backend/registry.js';
import { webgpuPlan } from './webgpu-probe.js';

/** A WebGPU group: run, skipped with the reason in its title, or one failing test that reports the reason. */
function webgpuGroup(title: string, body: () => void): void {
  const plan = webgpuPlan();
  if (plan.action === 'run') {
    describe(title, body);
  } else if (plan.action === 'fail') {
    describe(title, () => {
      it('needs a WebGPU adapter (ANDES_REQUIRE_WEBGPU=1)', () => {
        throw new Error(plan.reason);
      });
    });
  } else {
    describe.skip(`${title} (skipped: ${plan.reason})`, body);
  }
}

/**
 * Declares `fn`'s tests under `title [cpu]` and `title [webgpu]`, switching the current backend before each group.
 * When WebGPU is unavailable (or `ANDES_BACKEND=cpu`) its group is skipped with the reason in its title (and one
 * warning line), unless `ANDES_REQUIRE_WEBGPU=1`, where a failing test reports the reason instead.
 */
export function describeBackends(title: string, fn: (backend: BackendName) => void): void {
  describe(`${title} [cpu]`, () => {
    beforeAll(() => setBackend('cpu'));
    fn('cpu');
  });
  webgpuGroup(`${title} [webgpu]`, () => {
    beforeAll(() => setBackend('webgpu'));
    afterAll(() => setBackend('cpu'));
    fn('webgpu');
  });
}

/**
 * Declares tests that need WebGPU (they choose backends themselves, e.g. to compare against the CPU), under
 * `title [webgpu]`; the CPU backend is selected again after them. Skipped or failing as {@link describeBackends}'s
 * WebGPU group.
 */
export function describeWebGpu(title: string, fn: () => void): void {
  webgpuGroup(`${title} [webgpu]`, () => {
    afterAll(() => setBackend('cpu'));
    fn();
  });
}
