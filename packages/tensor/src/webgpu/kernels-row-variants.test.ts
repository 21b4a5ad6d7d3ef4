import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, View } from '../backend/backend.js';
import type { WebGpuBackend } from './backend.js';
import { setRowVariant } from './kernels/row-variants.js';
import { closeness, compatibilityWebGpu, randomFloats, readNumbers, tryWebGpu, upload } from './test-support.js';
import { ROW_VARIANTS, rowsFamily, rowVariantFits } from './tuning/families.js';
import { switchboardOf } from './tuning/switchboard.js';

// Every row-kernel variant (rows per workgroup × workgroup-memory or subgroup folds) on RMSNorm forward, its dx
// (against central finite differences of a float64 forward), the residual-add form, softmax / log-softmax and the
// cross-entropy forward and sum / max / min over the last axis (against float64), on the default and a compatibility-level device, with row counts and widths that fit no lane count.
const { backend } = await tryWebGpu();
if (!backend) console.warn('[webgpu row-variant tests skipped] no WebGPU adapter');

const compat = backend ? await compatibilityWebGpu() : undefined;
afterAll(() => {
  backend?.destroy();
  compat?.destroy();
});

const EPS = 1e-5;

/** Float64 RMSNorm of one row. */
function rmsRow(x: ArrayLike<number>, w: ArrayLike<number>): number[] {
  let ss = 0;
  for (let j = 0; j < x.length; j++) ss += x[j]! * x[j]!;
  const r = 1 / Math.sqrt(ss / x.length + EPS);
  return Array.from(x, (v, j) => v * r * w[j]!);
}

/** dx of Σ dy·rmsNorm(x) by central differences of the float64 forward, row by row. */
function rmsDxByDifferences(x: Float32Array, w: Float32Array, dy: Float32Array, rows: number, D: number): number[] {
  const out: number[] = [];
  const h = 1e-6;
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.subarray(r * D, (r + 1) * D));
    const g = dy.subarray(r * D, (r + 1) * D);
    const loss = (v: number[]) => rmsRow(v, w).reduce((s, y, j) => s + y * g[j]!, 0);
    for (let j = 0; j < D; j++) {
      const keep = row[j]!;
      row[j] = keep + h;
      const up = loss(row);
      row[j] = keep - h;
      const down = loss(row);
      row[j] = keep;
      out.push((up - down) / (2 * h));
    }
  }
  return out;
}

function softmaxRows(x: Float32Array, rows: number, cols: number, log: boolean): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
    const m = Math.max(...row);
    const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
    for (const v of row) out.push(log ? v - m - Math.log(s) : Math.exp(v - m) / s);
  }
  return out;
}

const view = (s: View['storage'], shape: number[]): View => ({
  storage: s,
  shape,
  strides: shape.length === 2 ? [shape[1]!, 1] : [1],
  offset: 0,
});

let seed = 500;
async function checkShape(g: Backend, rows: number, D: number) {
  const label = `[${rows}, ${D}]`;
  const x = randomFloats(rows * D, seed++, -2, 2);
  const res = randomFloats(rows * D, seed++, -1, 1);
  const w = randomFloats(D, seed++, 0.5, 1.5);
  const dy = randomFloats(rows * D, seed++);
  const [xv, rv, wv, gv] = [
    upload(g, x, [rows, D]),
    upload(g, res, [rows, D]),
    upload(g, w, [D]),
    upload(g, dy, [rows, D]),
  ];
  const f = g.rmsNorm(xv, wv, EPS);
  const want: number[] = [];
  for (let r = 0; r < rows; r++) want.push(...rmsRow(x.subarray(r * D, (r + 1) * D), w));
  expect(closeness(await readNumbers(g, f.y), want, 1e-5, 1e-4), `rmsNorm y ${label}`).toBeLessThanOrEqual(1);
  const b = g.rmsNormBackward(gv, xv, wv, view(f.rstd, [rows]));
  const dx = rmsDxByDifferences(x, w, dy, rows, D);
  expect(closeness(await readNumbers(g, b.dx), dx, 1e-4, 1e-3), `rmsNorm dx ${label}`).toBeLessThanOrEqual(1);
  const sum = Float32Array.from(x, (v, i) => v + res[i]!);
  const a = g.addRmsNorm!(xv, rv, wv, EPS);
  const wantAdd: number[] = [];
  for (let r = 0; r < rows; r++) wantAdd.push(...rmsRow(sum.subarray(r * D, (r + 1) * D), w));
  expect(closeness(await readNumbers(g, a.sum), Array.from(sum)), `add sum ${label}`).toBeLessThanOrEqual(1);
  expect(closeness(await readNumbers(g, a.y), wantAdd, 1e-5, 1e-4), `add y ${label}`).toBeLessThanOrEqual(1);
  // Cross-entropy forward: per-row loss (0 where the target is the ignore index) and log-sum-exp.
  const targets = Int32Array.from({ length: rows }, (_, r) => (r % 3 === 2 ? -100 : (r * 7919) % D));
  const tv = upload(g, targets, [rows]);
  const ce = g.crossEntropy(xv, tv, -100);
  const logp = softmaxRows(x, rows, D, true);
  const wantLse = Array.from({ length: rows }, (_, r) => x[r * D]! - logp[r * D]!);
  const wantLoss = Array.from(targets, (t, r) => (t === -100 ? 0 : -logp[r * D + t]!));
  expect(closeness(await readNumbers(g, ce.lse), wantLse, 1e-5, 1e-5), `ce lse ${label}`).toBeLessThanOrEqual(1);
  expect(closeness(await readNumbers(g, ce.loss), wantLoss, 1e-5, 1e-4), `ce loss ${label}`).toBeLessThanOrEqual(1);
  for (const s of [ce.loss, ce.lse, tv.storage]) g.free(s);
  // Sum / max / min over the last axis (rows of ≥ 128 go to the row kernel), and over everything (one row).
  for (const op of ['sum', 'max', 'min'] as const) {
    const fold = (a: number[]) => (op === 'sum' ? a.reduce((p, q) => p + q, 0) : Math[op](...a));
    const rowsOut = g.reduce(op, xv, [1]);
    const wantRows = Array.from({ length: rows }, (_, r) => fold(Array.from(x.subarray(r * D, (r + 1) * D))));
    expect(closeness(await readNumbers(g, rowsOut), wantRows, 1e-3, 1e-4), `${op} rows ${label}`).toBeLessThanOrEqual(
      1,
    );
    const all = g.reduce(op, xv, [0, 1]);
    expect(
      closeness(await readNumbers(g, all), [fold(Array.from(x))], 1e-3, 1e-4),
      `${op} all ${label}`,
    ).toBeLessThanOrEqual(1);
    g.free(rowsOut);
    g.free(all);
  }
  for (const log of [false, true]) {
    const s = g.softmax(xv, rows, D, log);
    const wantS = softmaxRows(x, rows, D, log);
    expect(closeness(await readNumbers(g, s), wantS, 1e-6, 1e-4), `softmax log=${log} ${label}`).toBeLessThanOrEqual(1);
    g.free(s);
  }
  for (const s of [f.y, f.rstd, b.dx, b.dweight, a.sum, a.y, a.rstd, xv.storage, rv.storage, wv.storage, gv.storage])
    g.free(s);
}

// The compatibility device runs the shapes with partial lane groups and rows wider than a workgroup.
const ALL_SHAPES: [number, number][] = [
  [1, 1],
  [37, 5],
  [3, 300],
  [17, 33],
  [2, 1100],
];
const devices: [string, () => Backend | undefined, [number, number][]][] = [
  ['default device', () => backend, ALL_SHAPES],
  ['compatibility device', () => compat, [ALL_SHAPES[1]!, ALL_SHAPES[4]!]],
];
for (const [device, get, shapes] of devices) {
  const g = get();
  const profile = g ? switchboardOf((g as WebGpuBackend).rt)!.profile : undefined;
  for (const [id, variant] of Object.entries(ROW_VARIANTS)) {
    const runs = profile !== undefined && rowVariantFits(profile, variant);
    if (g && !runs) console.warn(`[row variant ${id} skipped on the ${device}] no subgroups that hold its lanes`);
    (runs ? describe : describe.skip)(`webgpu row variant ${id} on the ${device}`, () => {
      afterAll(() => setRowVariant(undefined));
      it('RMSNorm (forward, dx, residual-add), softmax, cross-entropy and last-axis reductions on awkward rows', async () => {
        setRowVariant(variant);
        for (const [rows, D] of shapes) await checkShape(g!, rows, D);
      }, 120_000);
    });
  }
}

(backend ? describe : describe.skip)('the rows family', () => {
  it('defaults to 8 lanes per row on CPU adapters, one row per workgroup on GPUs, and offers only what runs', () => {
    const profile = switchboardOf((backend as WebGpuBackend).rt)!.profile;
    const p = { op: 'rmsnorm' as const, rows: 64, cols: 288 };
    const gpu = { ...profile, cpu: false };
    expect(rowsFamily.fallback(gpu, p)).toBe('w128');
    expect(rowsFamily.candidates(gpu, p)[0]).toBe('w128');
    const cpu = { ...profile, cpu: true };
    expect(rowsFamily.fallback({ ...cpu, subgroups: true, subgroupMinSize: 8 }, p)).toBe('g128x16');
    expect(rowsFamily.fallback({ ...cpu, subgroups: false }, p)).toBe('w128x16');
    expect(rowsFamily.candidates(profile, p)[0]).toBe(rowsFamily.fallback(profile, p));
    const none = { ...profile, subgroups: false };
    expect(rowsFamily.candidates(none, p).some((id) => ROW_VARIANTS[id]!.subgroups)).toBe(false);
    const four = { ...profile, subgroups: true, subgroupMinSize: 4 };
    const fourGpu = { ...four, cpu: false };
    expect(rowsFamily.candidates(fourGpu, p).filter((id) => ROW_VARIANTS[id]!.subgroups)).toEqual(['g128', 'g128x32']);
  });
});
