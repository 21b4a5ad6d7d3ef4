import { describe, expect, it } from 'vitest';
import { philoxFill } from '../random/philox.js';
import { firstMaxOf, rowsModuleBytes, wasmRows } from './wasm-rows.js';

/** The definition: scan from best = x[0], replace on a strict `>`. */
function firstMaxRef(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

const normals = (n: number, seed: number) => philoxFill('normal', new Float32Array(n), seed, 0);

/** Runs one kernel over `inputs` (copied to the work area, 16-byte aligned) and returns `outFloats` floats of output. */
function runKernel(inputs: Float32Array[], outFloats: number, call: (addrs: number[], out: number) => void) {
  const wasm = wasmRows()!;
  const addrs: number[] = [];
  let at = 0;
  for (const x of inputs) {
    new Float32Array(wasm.memory.buffer, at, x.length).set(x);
    addrs.push(at);
    at += Math.ceil((4 * x.length) / 64) * 64;
  }
  call(addrs, at);
  return new Float32Array(wasm.memory.buffer, at, outFloats).slice();
}

/** float32 ulps between a and b (both finite). */
function ulps(a: number, b: number): number {
  const i = new Int32Array(new Float32Array([a, b]).buffer);
  const key = (k: number) => (k < 0 ? -2147483648 - k : k);
  return Math.abs(key(i[0]!) - key(i[1]!));
}

describe.runIf(wasmRows() !== null)('wasm row kernels', () => {
  it('firstMax equals the scalar first-maximum scan on random rows, ties, ±∞, NaN and ±0', () => {
    for (const n of [16, 17, 31, 100, 1001, 32000]) {
      const x = normals(n, n);
      expect(firstMaxOf(x, n)).toBe(firstMaxRef(x));
      // Ties: the maximum at several places, in every lane slot.
      const m = x[firstMaxRef(x)]!;
      for (const i of [n - 1, Math.floor(n / 2), 5, 3]) {
        x[i] = m;
        expect(firstMaxOf(x, n)).toBe(firstMaxRef(x));
      }
      x[n - 2] = Number.POSITIVE_INFINITY;
      expect(firstMaxOf(x, n)).toBe(n - 2);
      x[7] = Number.NaN;
      expect(firstMaxOf(x, n)).toBe(firstMaxRef(x));
    }
    const cases: number[][] = [
      Array(20).fill(Number.NEGATIVE_INFINITY),
      [Number.NaN, ...Array(19).fill(1)],
      [Number.NEGATIVE_INFINITY, Number.NaN, ...Array(17).fill(-3), -2, Number.NaN],
      [-0, 0, 0, -0, ...Array(16).fill(-1)],
      [...Array(16).fill(-5), 0, -0],
      Array(33).fill(Number.NaN),
    ];
    for (const c of cases) {
      const x = Float32Array.from(c);
      expect(firstMaxOf(x, x.length)).toBe(firstMaxRef(x));
    }
    // Only the first n elements count.
    const x = Float32Array.from([...Array(20).fill(0), 9]);
    expect(firstMaxOf(x, 20)).toBe(0);
  });

  it('swiglu is within 4 float32 ulps of float64 silu(g)·u, 0 / ∓0 where exp under- or overflows', () => {
    const n = 1003;
    const g = normals(n, 1).map((v, i) => v * (i % 7 === 0 ? 30 : 3));
    g.set([0, -0, 87, -87, 88.5, -88.5, 89, -89, 100, -100, 1e-30, -1e-30], 0);
    const u = normals(n, 2);
    const out = runKernel([g, u], n, ([ga, ua], o) => wasmRows()!.swiglu(ga!, ua!, o, 32 * Math.ceil(n / 8)));
    for (let i = 0; i < n; i++) {
      const x = g[i]!;
      const ref = Math.fround((x / (1 + Math.exp(-x))) * u[i]!);
      // exp(−x) overflows float32 for x < −88.72: silu is then −0, float64 a subnormal or ~1e-37.
      if (x < -88.3) expect(Math.abs(out[i]! - ref)).toBeLessThan(1e-36);
      else expect(ulps(out[i]!, ref), `g=${x} u=${u[i]}`).toBeLessThanOrEqual(4);
    }
  });

  it('softmaxWeights is exp(x·scale − max) (float32 argument) within 2 ulps of float64, −∞ padding → 0', () => {
    const cols = 37;
    const stride = 40; // floats; the row tail [37, 40) is −∞ padding
    const rows = 5;
    const scale = 1 / Math.sqrt(48);
    const x = normals(rows * stride, 3).map((v) => v * 20);
    for (let r = 0; r < rows; r++) x.fill(Number.NEGATIVE_INFINITY, r * stride + cols, (r + 1) * stride);
    x[2 * stride + 4] = -1e4; // weight underflows to 0
    const out = runKernel([x], 0, ([xa]) => wasmRows()!.softmaxWeights(xa!, 4 * stride, rows, 4 * stride, scale));
    void out;
    const w = new Float32Array(wasmRows()!.memory.buffer, 0, rows * stride);
    for (let r = 0; r < rows; r++) {
      let m = Number.NEGATIVE_INFINITY;
      for (let p = 0; p < cols; p++) m = Math.max(m, Math.fround(x[r * stride + p]! * Math.fround(scale)));
      for (let p = 0; p < stride; p++) {
        const got = w[r * stride + p]!;
        if (p >= cols) {
          expect(got).toBe(0);
          continue;
        }
        const ref = Math.fround(Math.exp(Math.fround(Math.fround(x[r * stride + p]! * Math.fround(scale)) - m)));
        if (ref < 1.2e-38) expect(got).toBeLessThan(1.2e-38);
        else expect(ulps(got, ref), `row ${r} col ${p}`).toBeLessThanOrEqual(2);
      }
    }
  });

  it('also instantiates over an unshared memory (a page without cross-origin isolation)', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const e = new WebAssembly.Instance(new WebAssembly.Module(rowsModuleBytes(false)), { env: { mem: memory } })
      .exports as unknown as { firstMax: (x: number, bytes: number, out: number) => void };
    const x = normals(32, 7);
    new Float32Array(memory.buffer, 0, 32).set(x);
    e.firstMax(0, 128, 128);
    const values = new Float32Array(memory.buffer, 128, 16);
    const slots = new Int32Array(memory.buffer, 192, 16);
    let best = 0;
    for (let s = 1; s < 16; s++) if (values[s]! > values[best]!) best = s;
    expect(slots[best]).toBe(firstMaxRef(x));
  });
});
