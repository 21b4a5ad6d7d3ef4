import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, View } from '../backend/backend.js';
import type { WebGpuBackend } from './backend.js';
import {
  closeness,
  compatibilityWebGpu,
  gatherView,
  randomFloats,
  readNumbers,
  transposed,
  tryWebGpu,
  upload,
} from './test-support.js';

// The grouped linear kernels (kernels/matmul-parts.ts) against float64 host products on a compatibility-level device,
// with sizes that fit no strip (rows, columns and K not multiples of 8 or 16). The default device runs them through
// the ops in ops/linear-many.test.ts; each new pipeline costs seconds of shader compile on lavapipe, so the shapes
// here are few.
const { backend } = await tryWebGpu(); // skipped (one warning line) or failing as the one probe decides
backend?.destroy();
const compat = backend ? await compatibilityWebGpu() : undefined;
const suite = backend ? describe : describe.skip;
afterAll(() => compat?.destroy());

/** A host matrix and its upload, read through `view` (a transposed or offset view of the same data). */
interface Operand {
  host: Float32Array;
  view: View;
}

function operand(b: Backend, rows: number, cols: number, seed: number, transpose = false): Operand {
  const host = randomFloats(rows * cols, seed);
  if (!transpose) return { host, view: upload(b, host, [rows, cols]) };
  return { host, view: transposed(upload(b, host, [cols, rows]), 0, 1) };
}

/** float64 a [M, K] · b [K, N] over views of host data. */
function product(a: Operand, b: Operand): number[] {
  const [M, K] = a.view.shape as [number, number];
  const N = b.view.shape[1]!;
  const av = gatherView(a.host, a.view);
  const bv = gatherView(b.host, b.view);
  const out = new Array<number>(M * N).fill(0);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += av[m * K + k]! * bv[k * N + n]!;
      out[m * N + n] = s;
    }
  }
  return out;
}

/** The transpose of an operand as an operand (same host data). */
function t(o: Operand): Operand {
  return { host: o.host, view: transposed(o.view, 0, 1) };
}

/** Checks linearParts (with residual), its input and weight gradients on `g` against float64 products. */
async function checkParts(g: Backend): Promise<void> {
  // Three parts with GQA-like widths, then two (the kernels bind three parts; unused ones are padding).
  for (const [M, K, outs] of [
    [37, 70, [21, 9, 9]],
    [5, 13, [19, 6]],
  ] as const) {
    const x = operand(g, M, K, 1);
    const ws = outs.map((n, i) => operand(g, n, K, 10 + i));
    const wViews = ws.map((w) => w.view);
    const want = ws.flatMap((w) => product(x, t(w)));
    expect(closeness(await readNumbers(g, g.linearParts!(x.view, wViews, null)), want)).toBeLessThanOrEqual(1);

    const dys = outs.map((n, i) => operand(g, M, n, 20 + i));
    const dx = new Array<number>(M * K).fill(0);
    for (const [i, dy] of dys.entries()) {
      for (const [j, v] of product(dy, ws[i]!).entries()) dx[j]! += v;
    }
    const got = await readNumbers(
      g,
      g.linearPartsInputGrad!(
        dys.map((d) => d.view),
        wViews,
      ),
    );
    expect(closeness(got, dx)).toBeLessThanOrEqual(1);

    const dws = g.linearPartsWeightGrad!(
      dys.map((d) => d.view),
      x.view,
    );
    for (const [i, dy] of dys.entries()) {
      expect(closeness(await readNumbers(g, dws[i]!), product(t(dy), x))).toBeLessThanOrEqual(1);
    }
  }
  // Residual epilogue, and an x read through a transposed view (strides, not a copy).
  const x = operand(g, 23, 17, 3, true);
  const w = operand(g, 29, 17, 4);
  const r = operand(g, 23, 29, 5);
  const want = product(x, t(w)).map((v, i) => v + r.host[i]!);
  expect(closeness(await readNumbers(g, g.linearParts!(x.view, [w.view], r.view)), want)).toBeLessThanOrEqual(1);
}

suite('webgpu grouped linear kernels vs float64', () => {
  // CPU adapters run the grouped kernels, GPUs the tuned matmul family per part: both routes, whatever the adapter.
  for (const [route, cpuAdapter] of [
    ['grouped kernels', true],
    ['tuned family apart', false],
  ] as const) {
    it(`compatibility device, ${route}: linearParts (with residual), input and weight gradients`, async () => {
      const rt = (compat as WebGpuBackend).rt;
      const detected = rt.cpuAdapter;
      rt.cpuAdapter = cpuAdapter;
      try {
        await checkParts(compat!);
      } finally {
        rt.cpuAdapter = detected;
      }
    });
  }
});
