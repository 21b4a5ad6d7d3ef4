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
  return (await timeSideBySide([{ run, sync }], opts))[0]!;
}

/** One side of {@link timeSideBySide}: a call and the device sync that ends a batch of them. */
export interface TimedSide {
  run: () => void;
  sync: () => Promise<void>;
}

/**
 * {@link timeWithCpu} for several sides at once, their timed batches interleaved (trial 1 of each side, then trial 2
 * of each, …), so that every side's median comes from the same minutes: on a shared machine whose load moves by 2–6×
 * within a minute, timing one side after the other made wall-time ratios swing by ±40 % (BENCHMARKS.md).
 */
export async function timeSideBySide(
  sides: TimedSide[],
  opts: { minMs?: number; trials?: number; maxReps?: number } = {},
): Promise<{ ms: number; cpuMs: number }[]> {
  const minMs = opts.minMs ?? 400;
  const trials = opts.trials ?? 3;
  const reps: number[] = [];
  for (const { run, sync } of sides) {
    run();
    await sync();
    let n = 1;
    for (;;) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) run();
      await sync();
      const dt = performance.now() - t0;
      if (dt >= minMs || n >= (opts.maxReps ?? 256)) break;
      n *= 2;
    }
    reps.push(n);
  }
  const times = sides.map((): number[] => []);
  const cpuUs = sides.map(() => 0);
  for (let t = 0; t < trials; t++)
    for (const [s, { run, sync }] of sides.entries()) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < reps[s]!; i++) run();
      await sync();
      times[s]!.push((performance.now() - t0) / reps[s]!);
      const cpu = process.cpuUsage(cpu0);
      cpuUs[s]! += cpu.user + cpu.system;
    }
  return times.map((ts, s) => {
    ts.sort((a, b) => a - b);
    return { ms: ts[Math.floor(ts.length / 2)]!, cpuMs: cpuUs[s]! / 1000 / (trials * reps[s]!) };
  });
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
