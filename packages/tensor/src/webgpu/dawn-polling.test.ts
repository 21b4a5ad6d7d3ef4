import { afterAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from './backend.js';
import { DAWN_POLL_MS, isDawnPoll } from './dawn-polling.js';
import { randomFloats, readNumbers, tryWebGpu, upload } from './test-support.js';

const { backend, reason } = await tryWebGpu();
if (!backend) console.warn(`[webgpu tests skipped] ${reason}`);
afterAll(() => backend?.destroy());

describe('Dawn polling', () => {
  it("recognises Dawn's callback (anonymous, native, no arguments) and nothing else", () => {
    const native = new Proxy(() => {}, {}); // V8 prints a proxy as an anonymous native function, as Dawn's
    expect(isDawnPoll(native, [])).toBe(true);
    expect(isDawnPoll(native, [1])).toBe(false);
    expect(isDawnPoll(() => {}, [])).toBe(false);
    expect(isDawnPoll(function named() {}, [])).toBe(false);
    expect(isDawnPoll(Math.max, [])).toBe(false);
    expect(isDawnPoll('function () { [native code] }', [])).toBe(false);
  });

  const cpu = !!backend && (backend as WebGpuBackend).rt.cpuAdapter;
  (cpu ? it : it.skip)(
    'on a CPU adapter, waiting for a product polls about once per millisecond, not in a busy loop',
    async () => {
      const g = globalThis as { setImmediate: (...args: never[]) => unknown };
      const b = backend!;
      const [M, K, N] = [192, 301, 577];
      const a = upload(b, randomFloats(M * K, 1), [M, K]);
      const w = upload(b, randomFloats(K * N, 2), [K, N]);
      b.free(b.matmul(a, w, [])); // compiles
      await b.sync();
      const installed = g.setImmediate;
      let rounds = 0;
      g.setImmediate = function (this: unknown, ...args: never[]) {
        if (isDawnPoll(args[0], args.slice(1))) rounds++;
        return (installed as (...a: never[]) => unknown).apply(this, args);
      };
      try {
        const t0 = performance.now();
        const out = b.matmul(a, w, []);
        const values = await readNumbers(b, out);
        const ms = performance.now() - t0;
        b.free(out);
        expect(values).toHaveLength(M * N);
        // Spinning, Dawn re-queues its callback thousands of times in the ~10–50 ms this takes on lavapipe.
        expect(rounds).toBeLessThanOrEqual(ms / DAWN_POLL_MS + 3);
      } finally {
        g.setImmediate = installed;
        b.free(a.storage);
        b.free(w.storage);
      }
    },
  );
});
