/**
 * The one WebGPU availability probe of every test file in the repo (no test-runner imports, so kernel tests and the
 * browser subset use it too). `describeBackends` / `describeWebGpu` and `tryWebGpu` decide from it whether WebGPU
 * tests run, are skipped visibly, or — with `ANDES_REQUIRE_WEBGPU=1` — fail.
 *
 * @module
 */
import { setBackend } from '../backend/registry.js';

function env(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

/** Whether `ANDES_REQUIRE_WEBGPU=1`: a missing WebGPU adapter must fail the tests instead of skipping them. */
export function webgpuRequired(): boolean {
  return env('ANDES_REQUIRE_WEBGPU') === '1';
}

async function probeWebGpu(): Promise<{ ok: true } | { ok: false; reason: string }> {
  // Mesa's lavapipe wants a runtime directory; a test run often has none.
  if (typeof process !== 'undefined' && process.env && process.env.XDG_RUNTIME_DIR === undefined) {
    process.env.XDG_RUNTIME_DIR = '/tmp';
  }
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
 * Whether WebGPU could be initialised in this process (probed once, when this module loads; the CPU backend stays
 * selected). `ANDES_BACKEND=cpu` skips the probe and the WebGPU suites (unless `ANDES_REQUIRE_WEBGPU=1`).
 */
export const webgpuStatus: { ok: true } | { ok: false; reason: string } =
  env('ANDES_BACKEND') === 'cpu' && !webgpuRequired()
    ? { ok: false, reason: 'ANDES_BACKEND=cpu' }
    : await probeWebGpu();

let warned = false;

/**
 * What a suite that needs WebGPU does here: `'run'`; `'fail'` (no adapter and `ANDES_REQUIRE_WEBGPU=1`); or `'skip'`
 * (no adapter; one warning line per process says why and how to make it fail instead). Comes with the reason.
 */
export function webgpuPlan(): { action: 'run' } | { action: 'skip' | 'fail'; reason: string } {
  if (webgpuStatus.ok) return { action: 'run' };
  const reason = webgpuStatus.reason;
  if (webgpuRequired()) return { action: 'fail', reason };
  if (!warned) {
    warned = true;
    console.warn(
      `[@andes/tensor testing] webgpu tests skipped: ${reason} (set ANDES_REQUIRE_WEBGPU=1 to fail instead)`,
    );
  }
  return { action: 'skip', reason };
}
