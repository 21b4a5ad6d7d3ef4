/**
 * The row kernels' checks, shared by the Node conformance tests and the headless-Chromium run: every row kernel on a
 * random block against float64 (RMSNorm's dx against central finite differences of a float64 forward). No
 * test-runner imports, so the browser suite uses it too.
 *
 * @module
 */

import type { Backend, View } from '../backend/backend.js';
import { closeness, randomFloats, readNumbers, upload } from './test-support.js';

/** One checked output of {@link rowKernelErrors}: its label and its closeness to float64 (≤ 1 is close). */
export interface RowKernelError {
  label: string;
  error: number;
}

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

/**
 * Runs every row kernel on one random `[rows, D]` block of `g` (RMSNorm forward, its dx, the residual-add form,
 * cross-entropy's forward, last-axis and whole sum / max / min, softmax and log-softmax) and returns each output's
 * closeness to its float64 reference (≤ 1 is close), labelled. Whichever row variant is forced runs.
 */
export async function rowKernelErrors(g: Backend, rows: number, D: number, seed: number): Promise<RowKernelError[]> {
  const errors: RowKernelError[] = [];
  const check = (label: string, error: number) => errors.push({ label, error });
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
  check(`rmsNorm y ${label}`, closeness(await readNumbers(g, f.y), want, 1e-5, 1e-4));
  const b = g.rmsNormBackward(gv, xv, wv, view(f.rstd, [rows]));
  const dx = rmsDxByDifferences(x, w, dy, rows, D);
  check(`rmsNorm dx ${label}`, closeness(await readNumbers(g, b.dx), dx, 1e-4, 1e-3));
  const sum = Float32Array.from(x, (v, i) => v + res[i]!);
  const a = g.addRmsNorm!(xv, rv, wv, EPS);
  const wantAdd: number[] = [];
  for (let r = 0; r < rows; r++) wantAdd.push(...rmsRow(sum.subarray(r * D, (r + 1) * D), w));
  check(`add sum ${label}`, closeness(await readNumbers(g, a.sum), Array.from(sum)));
  check(`add y ${label}`, closeness(await readNumbers(g, a.y), wantAdd, 1e-5, 1e-4));
  // Cross-entropy forward: per-row loss (0 where the target is the ignore index) and log-sum-exp.
  const targets = Int32Array.from({ length: rows }, (_, r) => (r % 3 === 2 ? -100 : (r * 7919) % D));
  const tv = upload(g, targets, [rows]);
  const ce = g.crossEntropy(xv, tv, -100);
  const logp = softmaxRows(x, rows, D, true);
  const wantLse = Array.from({ length: rows }, (_, r) => x[r * D]! - logp[r * D]!);
  const wantLoss = Array.from(targets, (t, r) => (t === -100 ? 0 : -logp[r * D + t]!));
  check(`ce lse ${label}`, closeness(await readNumbers(g, ce.lse), wantLse, 1e-5, 1e-5));
  check(`ce loss ${label}`, closeness(await readNumbers(g, ce.loss), wantLoss, 1e-5, 1e-4));
  for (const s of [ce.loss, ce.lse, tv.storage]) g.free(s);
  // Sum / max / min over the last axis (rows of ≥ 128 go to the row kernel), and over everything (one row).
  for (const op of ['sum', 'max', 'min'] as const) {
    const fold = (a: number[]) => (op === 'sum' ? a.reduce((p, q) => p + q, 0) : Math[op](...a));
    const rowsOut = g.reduce(op, xv, [1]);
    const wantRows = Array.from({ length: rows }, (_, r) => fold(Array.from(x.subarray(r * D, (r + 1) * D))));
    check(`${op} rows ${label}`, closeness(await readNumbers(g, rowsOut), wantRows, 1e-3, 1e-4));
    const all = g.reduce(op, xv, [0, 1]);
    check(`${op} all ${label}`, closeness(await readNumbers(g, all), [fold(Array.from(x))], 1e-3, 1e-4));
    g.free(rowsOut);
    g.free(all);
  }
  for (const log of [false, true]) {
    const s = g.softmax(xv, rows, D, log);
    const wantS = softmaxRows(x, rows, D, log);
    check(`softmax log=${log} ${label}`, closeness(await readNumbers(g, s), wantS, 1e-6, 1e-4));
    g.free(s);
  }
  for (const s of [f.y, f.rstd, b.dx, b.dweight, a.sum, a.y, a.rstd, xv.storage, rv.storage, wv.storage, gv.storage])
    g.free(s);
  return errors;
}
