/**
 * One conformance suite, every backend: `describeBackends(title, fn)` declares fn's tests once per available backend.
 *
 * @module
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { BackendName } from '../backend/backend.js';
import { setBackend } from '../backend/registry.js';

function env(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

async function probeWebGpu(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await setBackend('webgpu');
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  } finally {
    await setBackend('cpu');
  }
}

/**
 * Whether WebGPU could be initialised in this process (probed once, when this module loads). `ANDES_BACKEND=cpu`
 * skips the probe and the WebGPU suites (unless `ANDES_REQUIRE_WEBGPU=1`).
 */
export const webgpuStatus: { ok: true } | { ok: false; reason: string } =
  env('ANDES_BACKEND') === 'cpu' && env('ANDES_REQUIRE_WEBGPU') !== '1'
    ? { ok: false, reason: 'ANDES_BACKEND=cpu' }
    : await probeWebGpu();
let warned = false;

/**
 * Declares `fn`'s tests under `title [cpu]` and `title [webgpu]`, switching the current backend before each group.
 * When WebGPU is unavailable (or `ANDES_BACKEND=cpu`) its group is skipped with the reason in its title (and one
 * warning line), unless
 * `ANDES_REQUIRE_WEBGPU=1`, where a failing test reports the reason instead.
 */
export function describeBackends(title: string, fn: (backend: BackendName) => void): void {
  describe(`${title} [cpu]`, () => {
    beforeAll(() => setBackend('cpu'));
    fn('cpu');
  });
  if (webgpuStatus.ok) {
    describe(`${title} [webgpu]`, () => {
      beforeAll(() => setBackend('webgpu'));
      afterAll(() => setBackend('cpu'));
      fn('webgpu');
    });
  } else if (env('ANDES_REQUIRE_WEBGPU') === '1') {
    const reason = webgpuStatus.reason;
    describe(`${title} [webgpu]`, () => {
      it('needs a WebGPU adapter (ANDES_REQUIRE_WEBGPU=1)', () => {
        throw new Error(reason);
      });
    });
  } else {
    if (!warned) {
      warned = true;
      console.warn(`[@andes/tensor testing] webgpu tests skipped: ${webgpuStatus.reason}`);
    }
    describe.skip(`${title} [webgpu] (skipped: ${webgpuStatus.reason})`, () => fn('webgpu'));
  }
}
