/**
 * Test support for the WebGPU kernel tests (no test-runner imports, so it also serves the browser subset):
 * backend acquisition with a visible skip, views, seeded random data and float64 references.
 *
 * @module
 */

import type { Backend, DType, Storage, View } from '../backend/backend.js';
import { seededUniform } from '../random/seeded-random.js';
import { sizeOf, stridesOf } from '../shape.js';
import { webgpuPlan } from '../testing/webgpu-probe.js';

/**
 * A WebGPU backend of the test's own (destroy it after), or undefined with the reason when the one probe
 * (`testing/webgpu-probe.ts`) found no adapter. Throws instead when `ANDES_REQUIRE_WEBGPU=1`. Autotuning is off
 * (fixed per-adapter defaults) unless ANDES_TUNE=on: tests pin the variants they check.
 */
export async function tryWebGpu(): Promise<{ backend?: Backend; reason?: string }> {
  const plan = webgpuPlan();
  if (plan.action === 'skip') return { reason: plan.reason };
  if (plan.action === 'fail') throw new Error(`WebGPU is required (ANDES_REQUIRE_WEBGPU=1): ${plan.reason}`);
  const { createWebGpuBackend } = await import('./index.js');
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return { backend: await createWebGpuBackend({ tune: env?.ANDES_TUNE === 'on' ? 'on' : 'off' }) };
}

/**
 * A second WebGPU backend on the same GPU at the `compatibility` feature level (its lower limits: 4 storage buffers
 * per stage, 128 invocations per workgroup), autotuning off. Call only after {@link tryWebGpu} found an adapter.
 */
export async function compatibilityWebGpu(): Promise<Backend> {
  const { findGpu } = await import('./device.js');
  const { createWebGpuBackend } = await import('./index.js');
  const gpu = (await findGpu())!;
  const compat = {
    requestAdapter: (o?: GPURequestAdapterOptions) =>
      gpu.requestAdapter({ ...o, featureLevel: 'compatibility' } as GPURequestAdapterOptions),
  } as GPU;
  return createWebGpuBackend({ gpu: compat, tune: 'off' });
}

/** A deterministic generator for test data (the repo's one host generator, `SeededRandom`). */
export const rng: (seed: number) => () => number = seededUniform;

/** Uniform floats in [lo, hi). */
export function randomFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** Uploads data and returns a contiguous view of `shape`. */
export function upload(b: Backend, data: Float32Array | Int32Array, shape: readonly number[]): View {
  const dtype: DType = data instanceof Int32Array ? 'int32' : 'float32';
  const s = b.alloc(dtype, data.length);
  b.write(s, data);
  return { storage: s, shape, strides: stridesOf(shape), offset: 0 };
}

/** Element offsets (in storage order) of every element of a view, row-major over its shape. */
export function viewOffsets(v: { shape: readonly number[]; strides: readonly number[]; offset: number }): number[] {
  const n = sizeOf(v.shape);
  const out = new Array<number>(n);
  const idx = new Array<number>(v.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let o = v.offset;
    for (let d = 0; d < idx.length; d++) o += idx[d]! * v.strides[d]!;
    out[i] = o;
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < v.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Host values of a view of host data. */
export function gatherView(data: ArrayLike<number>, v: Parameters<typeof viewOffsets>[0]): number[] {
  return viewOffsets(v).map((o) => data[o]!);
}

/** A view with two axes swapped (a zero-copy transpose). */
export function transposed(v: View, a: number, b: number): View {
  const shape = [...v.shape];
  const strides = [...v.strides];
  [shape[a], shape[b]] = [shape[b]!, shape[a]!];
  [strides[a], strides[b]] = [strides[b]!, strides[a]!];
  return { storage: v.storage, shape, strides, offset: v.offset };
}

/** Largest |a - b| / (atol + rtol·|b|); ≤ 1 means close. */
export function closeness(a: ArrayLike<number>, b: ArrayLike<number>, atol = 1e-5, rtol = 1e-4): number {
  if (a.length !== b.length) throw new Error(`closeness: lengths ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    if (x === y) continue;
    const e = Math.abs(x - y) / (atol + rtol * Math.abs(y));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
  }
  return worst;
}

/** Reads a storage as plain numbers. */
export async function readNumbers(b: Backend, s: Storage): Promise<number[]> {
  return Array.from(await b.read(s));
}

/** The same host data uploaded to two backends as views of one shape (optionally strided over a larger buffer). */
export function twin(
  cpu: Backend,
  gpu: Backend,
  data: Float32Array | Int32Array,
  shape: readonly number[],
): [View, View] {
  return [upload(cpu, data, shape), upload(gpu, data, shape)];
}

/** Reads the same-named storages from both backends and returns their closeness (≤ 1 is close). */
export async function compareStorages(
  cpu: Backend,
  gpu: Backend,
  c: Storage,
  g: Storage,
  atol = 1e-5,
  rtol = 1e-4,
): Promise<number> {
  const [a, b] = await Promise.all([gpu.read(g), cpu.read(c)]);
  return closeness(a, b, atol, rtol);
}
