/**
 * Benchmark plumbing: one Dawn GPU object shared by Andes and tfjs-webgpu, timing with a device sync, and the
 * result table.
 *
 * @module
 */

import type { Backend } from '../src/backend/backend.js';
import { createWebGpuBackend } from '../src/webgpu/index.js';

/** Everything a benchmark row needs. */
export interface Bench {
  andes: Backend;
  // biome-ignore lint/suspicious/noExplicitAny: tfjs is loaded dynamically and only used through a few calls.
  tf: any;
  /** Waits until tfjs-webgpu's queued work is done. */
  tfSync(): Promise<void>;
  adapter: string;
}

/** Creates both backends on the same Dawn GPU object (tfjs finds it through `navigator.gpu`). */
export async function setup(): Promise<Bench> {
  const specifier = 'webgpu';
  const { create, globals } = (await import(specifier)) as {
    create: (f: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, globals);
  const gpu = create([]);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  await tf.setBackend('webgpu');
  await tf.ready();
  // biome-ignore lint/suspicious/noExplicitAny: tfjs-webgpu backend internals (device, submitQueue).
  const tb = tf.backend() as any;
  const andes = await createWebGpuBackend({ gpu });
  const adapter = await gpu.requestAdapter();
  const info = adapter?.info;
  return {
    andes,
    tf,
    adapter: info ? `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim() : 'unknown',
    async tfSync() {
      tb.endComputePassEncoder();
      tb.submitQueue();
      await tb.device.queue.onSubmittedWorkDone();
    },
  };
}

/**
 * Milliseconds per call of `run`: one warm-up (compiles pipelines), then batches of calls doubled until a batch takes
 * ≥ `minMs`, then the median of `trials` such batches.
 */
export async function timeIt(
  run: () => void,
  sync: () => Promise<void>,
  opts: { minMs?: number; trials?: number; maxReps?: number } = {},
): Promise<number> {
  return (await timeWithCpu(run, sync, opts)).ms;
}

/**
 * {@link timeIt} plus the process's CPU milliseconds per call over the timed batches (user + system, every thread:
 * lavapipe's workers run in this process). On a shared machine CPU time moves far less with the load than wall time.
 */
export async function timeWithCpu(
  run: () => void,
  sync: () => Promise<void>,
  opts: { minMs?: number; trials?: number; maxReps?: number } = {},
): Promise<{ ms: number; cpuMs: number }> {
  const minMs = opts.minMs ?? 400;
  const trials = opts.trials ?? 3;
  run();
  await sync();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    await sync();
    const dt = performance.now() - t0;
    if (dt >= minMs || reps >= (opts.maxReps ?? 256)) break;
    reps *= 2;
  }
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let t = 0; t < trials; t++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    await sync();
    times.push((performance.now() - t0) / reps);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, cpuMs: (cpu.user + cpu.system) / 1000 / (trials * reps) };
}

/** One row of the result table. */
export interface Row {
  name: string;
  andes: string;
  tfjs: string;
  ratio: string;
  note?: string;
}

/** Prints rows as a Markdown table. */
export function printTable(title: string, unit: string, rows: Row[]): void {
  console.log(`\n### ${title}\n`);
  console.log(`| case | Andes ${unit} | tfjs-webgpu ${unit} | Andes / tfjs | note |`);
  console.log('|---|---:|---:|---:|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.andes} | ${r.tfjs} | ${r.ratio} | ${r.note ?? ''} |`);
}
