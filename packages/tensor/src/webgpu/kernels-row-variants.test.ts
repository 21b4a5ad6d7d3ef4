import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import type { WebGpuBackend } from './backend.js';
import { type RowVariant, setRowVariant } from './kernels/row-variants.js';
import { rowKernelErrors } from './row-kernel-checks.js';
import { compatibilityWebGpu, tryWebGpu } from './test-support.js';
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

let seed = 500;
async function checkShape(g: Backend, rows: number, D: number) {
  for (const { label, error } of await rowKernelErrors(g, rows, D, seed)) expect(error, label).toBeLessThanOrEqual(1);
  seed += 4;
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
  // The shuffle variants also with ranked slots (what SwiftShader runs), so both slot schemes run here.
  const ranked = Object.entries(ROW_VARIANTS)
    .filter(([, v]) => v.subgroups && v.rows > 1)
    .map(([id, v]): [string, RowVariant] => [`${id} (ranked slots)`, { ...v, rankSlots: true }]);
  for (const [id, variant] of [...Object.entries(ROW_VARIANTS), ...ranked]) {
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
