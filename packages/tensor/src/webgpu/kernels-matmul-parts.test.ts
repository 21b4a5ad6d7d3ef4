import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, View } from '../backend/backend.js';
import type { WebGpuBackend } from './backend.js';
import type { PartsProblem } from './kernels/matmul-parts.js';
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
import { partsFamily } from './tuning/families.js';
import { Switchboard, switchboardOf } from './tuning/switchboard.js';

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
  // 70 rows: above GROUPED_MAX_ROWS, where only the tuner sends products grouped.
  for (const [M, K, outs] of [
    [37, 70, [21, 9, 9]],
    [5, 13, [19, 6]],
    [70, 30, [21, 9, 9]],
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
  // Both routes of the `linear-parts` family, whatever the adapter (CPU adapters default to grouped, GPUs to apart).
  for (const route of ['grouped', 'apart'] as const) {
    it(`compatibility device, ${route}: linearParts (with residual), input and weight gradients`, async () => {
      const board = switchboardOf((compat as WebGpuBackend).rt)!;
      board.pin('linear-parts', route);
      try {
        await checkParts(compat!);
      } finally {
        board.pin('linear-parts', undefined);
      }
    });
  }

  it('the linear-parts family times both routes of each kind and keeps the faster', async () => {
    const rt = (compat as WebGpuBackend).rt;
    // As a GPU sees them: both routes timed at every size (a CPU adapter times only products above 64 rows).
    const gpu = { ...switchboardOf(rt)!.profile, cpu: false };
    const board = new Switchboard(rt, gpu, [partsFamily], { andes: 'test', mode: 'on', persist: false, runs: 1 });
    const problems: PartsProblem[] = [
      { kind: 'forward', M: 70, K: 30, Ns: [21, 9, 9], residual: false },
      { kind: 'forward', M: 23, K: 17, Ns: [29], residual: true },
      { kind: 'inputGrad', M: 5, K: 13, Ns: [19, 6], residual: false },
      { kind: 'weightGrad', M: 37, K: 70, Ns: [21, 9, 9], residual: false },
    ];
    const results = await board.tune(problems.map((problem) => ({ family: 'linear-parts', problem })));
    expect(results).toHaveLength(4);
    for (const r of results) {
      expect(Object.keys(r.times).sort()).toEqual(['apart', 'grouped']);
      expect(r.times[r.winner]).toBe(Math.min(...Object.values(r.times)));
    }
    expect(board.resolve('linear-parts', problems[0])).toBe(results[0]!.winner);
  });

  it('defaults: grouped on CPU adapters (several parts up to 64 rows; apart from 4 with broadcast strips), apart on GPUs', () => {
    const profile = switchboardOf((compat as WebGpuBackend).rt)!.profile;
    const p = (M: number, parts: number): PartsProblem => ({
      kind: 'forward',
      M,
      K: 64,
      Ns: Array.from({ length: parts }, () => 32),
      residual: parts === 1,
    });
    const cpu = { ...profile, cpu: true, subgroups: false };
    const gpu = { ...profile, cpu: false };
    expect(partsFamily.fallback(cpu, p(64, 3))).toBe('grouped');
    expect(partsFamily.fallback(cpu, p(65, 3))).toBe('apart');
    expect(partsFamily.fallback(cpu, p(512, 1))).toBe('grouped');
    expect(partsFamily.fallback(gpu, p(1, 3))).toBe('apart');
    expect(partsFamily.candidates(gpu, p(1, 3))).toEqual(['apart', 'grouped']);
    expect(partsFamily.candidates(cpu, p(1, 3))).toEqual(['grouped']);
    expect(partsFamily.candidates(cpu, p(2, 3))).toEqual(['grouped', 'apart']);
    expect(partsFamily.candidates(cpu, p(256, 3))).toEqual(['apart', 'grouped']);
    // With the broadcast strips (lavapipe): apart from 4 rows to 64, grouped below and for one part above.
    const broadcast = { ...profile, cpu: true, subgroups: true, subgroupMinSize: 8 };
    expect(partsFamily.fallback(broadcast, p(1, 3))).toBe('grouped');
    expect(partsFamily.fallback(broadcast, p(3, 3))).toBe('grouped');
    expect(partsFamily.fallback(broadcast, p(4, 3))).toBe('apart');
    expect(partsFamily.fallback(broadcast, p(16, 1))).toBe('apart');
    expect(partsFamily.fallback(broadcast, p(64, 2))).toBe('apart');
    expect(partsFamily.fallback(broadcast, p(512, 1))).toBe('grouped');
    expect(partsFamily.fallback(broadcast, { ...p(16, 3), kind: 'inputGrad', residual: false })).toBe('grouped');
    expect(partsFamily.shapeClass(p(1, 3))).not.toBe(partsFamily.shapeClass(p(1, 2)));
  });
});
