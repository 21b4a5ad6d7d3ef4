import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { makeRng, refProductWithMagnitude } from '../testing/reference.js';
import {
  helperChunks,
  runDotKernel,
  SPLIT_MIN_MULTIPLY_ADDS,
  setCpuHelperNice,
  setCpuHelperSpin,
  setCpuThreads,
  splitProducts,
  startCpuHelpers,
} from './cpu-threads.js';
import { linearParts } from './linear-parts.js';
import { matmul } from './matmul.js';
import { CpuStorage, cpuData } from './storage.js';
import { heapBlock } from './wasm-heap.js';
import { wasmTile } from './wasm-tile.js';

const random = (rng: () => number, n: number) => Float32Array.from({ length: n }, () => 2 * rng() - 1);
const rowsView = (data: Float32Array, M: number, K: number): View => ({
  storage: new CpuStorage('float32', data),
  shape: [M, K],
  strides: [K, 1],
  offset: 0,
});
/** x [M, K] · wᵀ with w a [N, K] weight (a Linear weight, the dot kernels' layout). */
const linear = (x: View, w: CpuStorage, K: number, N: number) =>
  cpuData(matmul(x, { storage: w, shape: [K, N], strides: [1, K], offset: 0 }, [])) as Float32Array;

/** Runs fn with `threads` threads, the helpers ready (so that big products really split). */
async function withThreads<T>(threads: number, fn: () => T): Promise<T> {
  setCpuThreads(threads);
  if (threads > 1) expect(await startCpuHelpers()).toBe(threads - 1);
  return fn();
}

// Helpers run the same compiled kernels on the same shared memory over whole groups of output columns, so every
// output is the same float whichever thread computed it: the threaded product must equal the one-thread product bit
// for bit, and float64 within float32 rounding.
describe.skipIf(!wasmTile()?.shared)('cpu threads: products split across helper threads', () => {
  const rng = makeRng(77);
  beforeAll(() => setCpuThreads(1));
  afterAll(() => setCpuThreads(undefined));

  it('gives the one-thread floats bit for bit and float64 within rounding, at awkward shapes', async () => {
    // N is no multiple of the tile's 2 columns or the one-row kernel's 8; K = 292 reads in place (dot form), K = 290
    // (not a multiple of 4) copies bᵀ in; M = 70 spans two 64-row blocks, 5 and 70 end in a tail tile.
    for (const [K, N] of [
      [292, 4099],
      [290, 3601],
    ] as const) {
      const W = random(rng, N * K);
      const w = new CpuStorage('float32', W);
      for (const M of [1, 3, 5, 16, 70]) {
        const X = random(rng, M * K);
        const x = rowsView(X, M, K);
        const one = await withThreads(1, () => [linear(x, w, K, N), linear(x, w, K, N)]);
        const before = splitProducts();
        const two = await withThreads(2, () => linear(x, w, K, N));
        // One job per product (M = 70's two 64-row blocks included).
        expect(splitProducts() - before, `M ${M} K ${K} N ${N} split`).toBe(1);
        expect(Array.from(two), `M ${M} K ${K} N ${N}`).toEqual(Array.from(one[1]!));
        expect(Array.from(one[0]!)).toEqual(Array.from(one[1]!));
        const { want, magnitude } = refProductWithMagnitude(X, cpuData(w) as Float32Array, M, K, N);
        for (let i = 0; i < M * N; i += 7) {
          expect(Math.abs(two[i]! - want[i]!)).toBeLessThanOrEqual(6e-8 * (K / 4 + 3) * magnitude[i]!);
        }
      }
    }
  });

  it('splits the one-row grouped products (q/k/v) bit for bit', async () => {
    const K = 516;
    const widths = [2053, 131]; // both ≥ 65536 floats, so both move into wasm memory
    const weights = widths.map((n) => rowsView(random(rng, n * K), n, K));
    const x = rowsView(random(rng, K), 1, K);
    const one = await withThreads(1, () => {
      linearParts(x, weights, null);
      return cpuData(linearParts(x, weights, null)).slice();
    });
    for (const w of weights) expect(heapBlock(w.storage as CpuStorage)).toBeDefined();
    const before = splitProducts();
    const two = await withThreads(2, () => cpuData(linearParts(x, weights, null)));
    expect(splitProducts() - before).toBe(1); // both parts as one job
    expect(Array.from(two)).toEqual(Array.from(one));
  });

  it('splits 16- and 70-row grouped products (x packed once for all parts) bit for bit', async () => {
    const K = 292;
    const widths = [1031, 130, 66]; // each ≥ 65536 floats: all move into wasm memory
    const weights = widths.map((n) => rowsView(random(rng, Math.max(n * K, 65536)), n, K));
    // 16 rows: one job of 3 products; 70 rows (two 64-row blocks each): 6 products, in jobs of at most 4.
    for (const [M, jobs] of [
      [16, 1],
      [70, 2],
    ] as const) {
      const xs = rowsView(random(rng, M * K), M, K);
      const one = await withThreads(1, () => {
        linearParts(xs, weights, null);
        return cpuData(linearParts(xs, weights, null)).slice();
      });
      const before = splitProducts();
      const two = await withThreads(2, () => cpuData(linearParts(xs, weights, null)));
      expect(splitProducts() - before, `${M} rows`).toBe(jobs);
      expect(Array.from(two), `${M} rows`).toEqual(Array.from(one));
    }
  });

  it('with polling off, wakes sleeping helpers for a product and gives the same bits', async () => {
    const [M, K, N] = [16, 292, 6001];
    const w = new CpuStorage('float32', random(rng, N * K));
    const x = rowsView(random(rng, M * K), M, K);
    const one = await withThreads(1, () => [linear(x, w, K, N), linear(x, w, K, N)][1]!);
    expect(() => setCpuHelperSpin(-1)).toThrow(/setCpuHelperSpin: ms must be in \[0, 1000\]/);
    expect(() => setCpuHelperSpin(Number.NaN)).toThrow(/setCpuHelperSpin/);
    const previous = setCpuHelperSpin(0);
    try {
      await withThreads(2, () => linear(x, w, K, N));
      let helped = 0;
      for (let i = 0; i < 20; i++) {
        // Long enough for a helper to have given up waiting for the next job, so each product must wake it.
        await new Promise((r) => setTimeout(r, 3));
        const before = helperChunks();
        const two = linear(x, w, K, N);
        helped += helperChunks() - before;
        expect(Array.from(two)).toEqual(Array.from(one));
      }
      expect(helped).toBeGreaterThan(0);
    } finally {
      expect(setCpuHelperSpin(previous)).toBe(0);
    }
  });

  it('raises a kernel trap in any chunk in the calling thread, and keeps working afterwards', async () => {
    const wasm = wasmTile()!;
    await withThreads(2, () => {
      // Two groups of 8 columns 2 GiB apart: the first reads in bounds, the second past the memory (whichever
      // thread takes it).
      const far = 0x7fff0000;
      const args = [0, 64, 1, 0, 64, 2, 64, 0, 0, far, 4, 32, 0] as const;
      expect(() => runDotKernel(wasm, 'gemv', args, SPLIT_MIN_MULTIPLY_ADDS)).toThrow(/gemv kernel failed in a chunk/);
    });
    const [M, K, N] = [4, 292, 3001];
    const x = rowsView(random(rng, M * K), M, K);
    const w = new CpuStorage('float32', random(rng, N * K));
    const one = await withThreads(1, () => linear(x, w, K, N));
    const two = await withThreads(2, () => linear(x, w, K, N));
    expect(Array.from(two)).toEqual(Array.from(one));
  });

  it('rejects a thread count that is not a positive integer, naming it', () => {
    expect(() => setCpuThreads(0)).toThrow(/setCpuThreads: threads must be a positive integer.*got 0/);
    expect(() => setCpuThreads(1.5)).toThrow(/got 1.5/);
  });

  it('rejects a helper nice value outside 0–19, naming it', () => {
    expect(() => setCpuHelperNice(20)).toThrow(/setCpuHelperNice: levels must be an integer in \[0, 19\], got 20/);
    expect(() => setCpuHelperNice(-1)).toThrow(/got -1/);
    expect(setCpuHelperNice(0)).toBe(0);
  });

  it.runIf(process.platform === 'linux')(
    'starts helpers the chosen nice levels below their caller, which keeps its own, and still splits bit for bit',
    () => {
      // A child process, so that its threads are only its own: field 19 of /proc/self/task/<tid>/stat is the nice value.
      const dist = (file: string) => fileURLToPath(new URL(`../../dist/cpu/${file}`, import.meta.url));
      const program = `
        import { readdirSync, readFileSync } from 'node:fs';
        import { setCpuHelperNice, startCpuHelpers, splitProducts } from ${JSON.stringify(dist('cpu-threads.js'))};
        import { matmul } from ${JSON.stringify(dist('matmul.js'))};
        import { CpuStorage } from ${JSON.stringify(dist('storage.js'))};
        const nice = (stat) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
        const nices = () => readdirSync('/proc/self/task').map((t) => nice(readFileSync('/proc/self/task/' + t + '/stat', 'utf8')));
        const before = nices();
        setCpuHelperNice(4);
        const [M, K, N] = [16, 288, 2000];
        const x = { storage: new CpuStorage('float32', new Float32Array(M * K).fill(0.5)), shape: [M, K], strides: [K, 1], offset: 0 };
        const b = { storage: new CpuStorage('float32', new Float32Array(N * K).fill(0.25)), shape: [K, N], strides: [1, K], offset: 0 };
        matmul(x, b, []);
        const ready = await startCpuHelpers();
        const o = matmul(x, b, []);
        console.log(JSON.stringify({ ready, before, after: nices(), own: nice(readFileSync('/proc/thread-self/stat', 'utf8')), splits: splitProducts(), value: o.data[N + 7] }));
      `;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
        encoding: 'utf8',
        timeout: 15000,
        env: { ...process.env, ANDES_CPU_THREADS: '3' },
      });
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout) as {
        ready: number;
        before: number[];
        after: number[];
        own: number;
        splits: number;
        value: number;
      };
      expect(out.ready).toBe(2);
      expect(out.before.every((n) => n === out.own)).toBe(true);
      expect(out.after.filter((n) => n === Math.min(19, out.own + 4))).toHaveLength(2);
      expect(out.after.filter((n) => n !== out.own)).toHaveLength(2);
      expect(out.splits).toBe(1);
      expect(out.value).toBe(288 * 0.125);
    },
  );

  it('lets a process that used the helpers exit on its own', () => {
    // The built module (turbo builds before tests): a child process runs a split product and simply ends.
    const dist = (file: string) => fileURLToPath(new URL(`../../dist/cpu/${file}`, import.meta.url));
    const program = `
      import { startCpuHelpers, splitProducts } from ${JSON.stringify(dist('cpu-threads.js'))};
      import { matmul } from ${JSON.stringify(dist('matmul.js'))};
      import { CpuStorage } from ${JSON.stringify(dist('storage.js'))};
      const [M, K, N] = [16, 288, 2000];
      const x = { storage: new CpuStorage('float32', new Float32Array(M * K).fill(0.5)), shape: [M, K], strides: [K, 1], offset: 0 };
      const w = new CpuStorage('float32', new Float32Array(N * K).fill(0.25));
      const b = { storage: w, shape: [K, N], strides: [1, K], offset: 0 };
      matmul(x, b, []);
      console.log('ready', await startCpuHelpers());
      const o = matmul(x, b, []);
      console.log('splits', splitProducts(), 'value', o.data[N + 7]);
    `;
    const run = (threads: string) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', program], {
        encoding: 'utf8',
        timeout: 15000,
        env: { ...process.env, ANDES_CPU_THREADS: threads },
      });
    const started = Date.now();
    const r = run('2');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ready 1');
    expect(r.stdout).toContain(`splits 1 value ${288 * 0.125}`);
    expect(Date.now() - started).toBeLessThan(10000);
    // A malformed setting is an error that names it, not a silent default.
    const bad = run('two');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("ANDES_CPU_THREADS must be a positive integer, got 'two'");
  });
});
