import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../backend/backend.js';
import { tune } from '../../tune.js';
import type { WebGpuBackend } from '../backend.js';
import type { MatmulProblem } from '../kernels/matmul.js';
import { closeness, randomFloats, readNumbers, tryWebGpu, upload } from '../test-support.js';
import { switchboardOf } from './switchboard.js';
import { type KernelTimer, timestampTimer, waitTimer } from './timer.js';
import { familyProblems } from './tune-shapes.js';

// The tuner driving real kernels on this adapter: a fake clock decides the winner (so the test is deterministic),
// the real timers are checked to measure something, and results stay those of float64.
const probe = await tryWebGpu();
probe.backend?.destroy();
const suite = probe.backend ? describe : describe.skip;

let dir = '';
const saved = process.env.ANDES_CACHE_DIR;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'andes-tune-gpu-'));
  process.env.ANDES_CACHE_DIR = dir;
});
afterAll(() => {
  if (saved === undefined) delete process.env.ANDES_CACHE_DIR;
  else process.env.ANDES_CACHE_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

/** Prefers one variant id of every family it times; records the labels it saw. */
function preferring(id: string, seen: string[]): KernelTimer {
  return {
    name: 'fake',
    async measure(rt, run, label) {
      seen.push(label);
      run();
      await rt.sync();
      return label.endsWith(`:${id}`) ? 1 : 2;
    },
  };
}

async function backendWith(timer: KernelTimer, tuneMode: 'on' | 'off' = 'on'): Promise<Backend> {
  const { createWebGpuBackend } = await import('../index.js');
  return createWebGpuBackend({ tune: tuneMode, timer, andesVersion: 'test' });
}

/** Float64 A·B for row-major host data. */
function ref(a: Float32Array, b: Float32Array, M: number, K: number, N: number): number[] {
  const out: number[] = [];
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k]! * b[k * N + n]!;
      out.push(s);
    }
  return out;
}

suite('autotuner on the WebGPU adapter', () => {
  it('tune() picks the fastest candidate, the kernels then use it, and results match float64', async () => {
    const seen: string[] = [];
    const g = await backendWith(preferring('s19', seen));
    try {
      const reports = await tune([{ kind: 'matmul', m: 40, k: 24, n: 36 }], { backend: g });
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ family: 'matmul', winner: 's19', cached: false });
      expect(seen.some((l) => l === 'matmul:s18')).toBe(true);
      const board = switchboardOf((g as WebGpuBackend).rt)!;
      const problem: MatmulProblem = { M: 40, N: 36, K: 24, batch: 1, la: 'k', lb: 'mn' };
      expect(board.resolve('matmul', problem)).toBe('s19');
      const ad = randomFloats(40 * 24, 1);
      const bd = randomFloats(24 * 36, 2);
      const out = g.matmul(upload(g, ad, [40, 24]), upload(g, bd, [24, 36]), []);
      expect(closeness(await readNumbers(g, out), ref(ad, bd, 40, 24, 36), 1e-4, 1e-4)).toBeLessThanOrEqual(1);
      expect(readdirSync(dir).filter((f) => f.startsWith('tuning-'))).toHaveLength(1);
    } finally {
      g.destroy();
    }
    // A second backend (same adapter, same version) answers from the cache file without timing.
    const again: string[] = [];
    const g2 = await backendWith(preferring('s18', again));
    try {
      const [r] = await tune([{ kind: 'matmul', m: 40, k: 24, n: 36 }], { backend: g2 });
      expect(r).toMatchObject({ winner: 's19', cached: true });
      expect(again).toEqual([]);
    } finally {
      g2.destroy();
    }
  });

  it('first use queues the shape class and the next sync tunes it', async () => {
    const seen: string[] = [];
    const g = await backendWith(preferring('r3', seen));
    try {
      const a = upload(g, randomFloats(20, 3), [1, 20]);
      const b = upload(g, randomFloats(20 * 50, 4), [20, 50]);
      g.free(g.matmul(a, b, []));
      expect(seen).toEqual([]);
      await g.sync();
      expect(seen.filter((l) => l.startsWith('matmul-decode:')).length).toBeGreaterThan(0);
      const board = switchboardOf((g as WebGpuBackend).rt)!;
      expect(board.resolve('matmul-decode', { M: 1, N: 50, K: 20, batch: 1, la: 'k', lb: 'mn' })).toBe('r3');
    } finally {
      g.destroy();
    }
  });

  it('both real timers measure a positive time', async () => {
    const g = await backendWith(waitTimer, 'off');
    try {
      const rt = (g as WebGpuBackend).rt;
      const a = upload(g, randomFloats(64 * 64, 5), [64, 64]);
      const run = () => g.free(g.matmul(a, a, []));
      run();
      await g.sync();
      for (const timer of [waitTimer, timestampTimer]) {
        const ms = await timer.measure(rt, run, 'matmul:x');
        expect(ms, timer.name).toBeGreaterThan(0);
        expect(ms, timer.name).toBeLessThan(60_000);
      }
    } finally {
      g.destroy();
    }
  });

  it('expands shapes into family problems with the backward products, and rejects bad shapes by name', () => {
    const ps = familyProblems([
      { kind: 'matmul', m: 8, k: 16, n: 32, transposeB: true, backward: true },
      { kind: 'attention', batch: 1, heads: 4, kvHeads: 2, seqLen: 9, headDim: 8, backward: true },
    ]);
    expect(ps.map((p) => p.family)).toEqual(['matmul', 'matmul', 'matmul', 'attention', 'attention-backward']);
    expect(ps[1]!.problem).toEqual({ M: 8, N: 16, K: 32, batch: 1, la: 'k', lb: 'mn' });
    expect(ps[2]!.problem).toEqual({ M: 16, N: 32, K: 8, batch: 1, la: 'mn', lb: 'mn' });
    expect(() => familyProblems([{ kind: 'matmul', m: 0, k: 1, n: 1 }])).toThrow(/matmul m must be a positive/);
    expect(() =>
      familyProblems([{ kind: 'attention', batch: 1, heads: 3, kvHeads: 2, seqLen: 1, headDim: 8 }]),
    ).toThrow(/heads 3 is not a multiple of kvHeads 2/);
    const rows = familyProblems([{ kind: 'rows', op: 'rmsnorm', rows: 37, cols: 288 }]);
    expect(rows).toEqual([{ family: 'rows', problem: { op: 'rmsnorm', rows: 37, cols: 288 } }]);
    expect(() => familyProblems([{ kind: 'rows', op: 'rmsnorm', rows: 0, cols: 8 }])).toThrow(/rows rows must be/);
    const parts = familyProblems([{ kind: 'linear-parts', m: 5, k: 13, n: [19, 6], backward: true }]);
    expect(parts.map((p) => [p.family, (p.problem as { kind: string }).kind])).toEqual([
      ['linear-parts', 'forward'],
      ['linear-parts', 'inputGrad'],
      ['linear-parts', 'weightGrad'],
    ]);
    expect(parts[0]!.problem).toEqual({ kind: 'forward', M: 5, K: 13, Ns: [19, 6], residual: false });
    expect(() => familyProblems([{ kind: 'linear-parts', m: 1, k: 8, n: [4, 4], residual: true }])).toThrow(
      /residual takes exactly one weight/,
    );
    expect(() => familyProblems([{ kind: 'linear-parts', m: 1, k: 8, n: [] }])).toThrow(/takes 1–3 weights, got 0/);
  });
});
