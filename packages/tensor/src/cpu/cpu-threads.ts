/**
 * Intra-op threads for the CPU backend's dot kernels: one product runs on several cores, synchronously as before.
 *
 * Why: a batched product is compute-bound (16 decode rows cost ~4× one row on one core) while the machine has more
 * cores. The kernels' memory is shared (wasm-tile.ts), so n − 1 helper threads (Node `worker_threads`, unref'd so they
 * never keep a process alive) instantiate the same compiled module on it. A product's groups of output columns are
 * split between the caller and the ready helpers; the caller runs its share, then waits for theirs (a short spin, then
 * Atomics.wait). Jobs go through a shared control block (cpu-thread-worker.ts), not messages. Each output is computed
 * by the same kernel over the same k order whichever thread runs it, so results are bit-identical to one thread.
 *
 * Helpers start lazily and asynchronously on the first product big enough to split (start-up ~30–50 ms); until a
 * helper reports ready, products run on the calling thread alone, and nothing ever waits for a start-up. Where
 * threads are impossible (an unshared memory, a browser: no `worker_threads`) everything runs on the calling thread.
 *
 * @module
 */
import { HELPER_KERNELS, HELPER_SOURCE, SLOT, SLOT_INTS } from './cpu-thread-worker.js';
import { nodeProcess } from './wasm-relaxed-simd.js';
import { type DotKernel, type WasmTile, wasmTile } from './wasm-tile.js';

/**
 * Multiply-adds below which a product stays on one thread: a helper's wake-up and the caller's wait cost ~10–30 µs,
 * which must stay small against the work (at ~15 G multiply-adds/s, 1.5 M take ~100 µs). Measured, BENCHMARKS.md.
 */
export const SPLIT_MIN_MULTIPLY_ADDS = 1 << 20;
/** Default cap on threads (the caller included) when neither ANDES_CPU_THREADS nor setCpuThreads chooses. */
const DEFAULT_MAX_THREADS = 4;
/** Atomics.load polls of the caller for a helper's share before it sleeps in Atomics.wait. */
const CALLER_SPINS = 200000;

interface WorkerLike {
  unref(): void;
  terminate(): Promise<number>;
  on(event: 'error' | 'exit', listener: () => void): void;
}
type WorkerConstructor = new (
  source: string,
  options: { eval: true; workerData: unknown; stdout?: boolean; stderr?: boolean },
) => WorkerLike;

/** The running helpers: their control block and threads (slot i belongs to helpers[i]). */
interface Pool {
  readonly control: Int32Array;
  readonly helpers: (WorkerLike | null)[];
  /** The job number last posted to each slot. */
  readonly seq: number[];
}

let chosen: number | undefined;
let pool: Pool | null | undefined;
let splits = 0;

/** Products split across threads so far in this thread (tests check that a split really happened). */
export function splitProducts(): number {
  return splits;
}

/** Threads a product may use, the caller included (1: no helpers). */
export function cpuThreads(): number {
  if (chosen !== undefined) return chosen;
  const env = nodeProcess()?.env?.ANDES_CPU_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`ANDES_CPU_THREADS must be a positive integer, got '${env}'`);
    return n;
  }
  const os = nodeProcess()?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  return Math.max(1, Math.min(DEFAULT_MAX_THREADS, os?.availableParallelism?.() ?? 1));
}

/**
 * Sets how many threads one CPU-backend product may use, the calling thread included (1 turns the helpers off;
 * undefined restores the default: `ANDES_CPU_THREADS`, else the machine's available parallelism capped at 4).
 * Running helpers are stopped; new ones start lazily on the next product big enough to split. Results do not depend
 * on the count (bit for bit). Returns the previous setting.
 */
export function setCpuThreads(threads: number | undefined): number | undefined {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new Error(`setCpuThreads: threads must be a positive integer or undefined, got ${threads}`);
  }
  const previous = chosen;
  chosen = threads;
  stopHelpers();
  return previous;
}

/** Helpers that have reported ready (for tests and benches: products split only across these). */
export function readyCpuHelpers(): number {
  if (!pool) return 0;
  let n = 0;
  for (let i = 0; i < pool.helpers.length; i++) if (pool.helpers[i] && ready(pool, i)) n++;
  return n;
}

/**
 * Starts the helpers now (they still start asynchronously) and resolves once all have reported ready, or after
 * `timeoutMs`; resolves to the number ready. For tests and benches that must measure with threads.
 */
export async function startCpuHelpers(timeoutMs = 5000): Promise<number> {
  const p = helperPool();
  const want = p?.helpers.length ?? 0;
  const end = Date.now() + timeoutMs;
  while (readyCpuHelpers() < want && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return readyCpuHelpers();
}

/**
 * Runs a dot kernel (`tile` or `gemv` of wasm-tile.ts) on its `groups` groups (argument 5), split across the calling
 * thread and the ready helpers when `multiplyAdds` is large enough, else as one call.
 */
export function runDotKernel(
  wasm: WasmTile,
  which: (typeof HELPER_KERNELS)[number],
  args: Readonly<Parameters<DotKernel>>,
  multiplyAdds: number,
): void {
  const kernel = wasm[which];
  const groups = args[5];
  const p = multiplyAdds >= SPLIT_MIN_MULTIPLY_ADDS && groups > 1 ? helperPool() : null;
  const helpers: number[] = [];
  if (p) for (let i = 0; i < p.helpers.length; i++) if (p.helpers[i] && ready(p, i)) helpers.push(i);
  if (helpers.length === 0) {
    kernel(...args);
    return;
  }
  const parts = Math.min(helpers.length + 1, groups);
  const c = p!.control;
  const share = (t: number) => Math.round((t * groups) / parts);
  for (let t = 1; t < parts; t++) {
    const slot = helpers[t - 1]!;
    const base = slot * SLOT_INTS;
    c[base + SLOT.KERNEL] = HELPER_KERNELS.indexOf(which);
    c[base + SLOT.FIRST] = share(t);
    c[base + SLOT.END] = share(t + 1);
    for (let i = 0; i < 13; i++) c[base + SLOT.ARGS + i] = args[i]!;
    const seq = (p!.seq[slot]! + 1) & 0x3fffffff;
    p!.seq[slot] = seq;
    Atomics.store(c, base + SLOT.SEQ, seq);
    Atomics.notify(c, base + SLOT.SEQ);
  }
  splits++;
  // The caller's share: the first groups, same arguments. Wait for the helpers even if it throws, so that no helper
  // still writes into the work area when the next product starts.
  const mine = [...args] as Parameters<DotKernel>;
  mine[5] = share(1);
  try {
    kernel(...mine);
  } finally {
    waitForHelpers(p!, helpers.slice(0, parts - 1), which, groups);
  }
}

/** Waits (spin, then Atomics.wait) until each slot has finished its current job; throws if one of them failed. */
function waitForHelpers(p: Pool, slots: readonly number[], which: string, groups: number): void {
  const c = p.control;
  let failed = false;
  for (const slot of slots) {
    const base = slot * SLOT_INTS;
    const seq = p.seq[slot]!;
    let done = Atomics.load(c, base + SLOT.DONE);
    for (let i = 0; done !== seq && i < CALLER_SPINS; i++) done = Atomics.load(c, base + SLOT.DONE);
    while (done !== seq) {
      Atomics.wait(c, base + SLOT.DONE, done);
      done = Atomics.load(c, base + SLOT.DONE);
    }
    if (c[base + SLOT.FAILED]) failed = true;
  }
  if (failed) throw new Error(`cpu threads: the ${which} kernel failed in a helper thread (groups ${groups})`);
}

const ready = (p: Pool, slot: number) => Atomics.load(p.control, slot * SLOT_INTS + SLOT.READY) === 1;

/** The pool, started on first call where threads are possible and wanted; null where not. */
function helperPool(): Pool | null {
  if (pool !== undefined) return pool;
  pool = null;
  const count = cpuThreads() - 1;
  const wasm = wasmTile();
  const Worker = (nodeProcess()?.getBuiltinModule?.('node:worker_threads') as { Worker?: WorkerConstructor })?.Worker;
  if (count < 1 || !wasm?.shared || !Worker || typeof SharedArrayBuffer === 'undefined') return pool;
  const control = new Int32Array(new SharedArrayBuffer(4 * SLOT_INTS * count));
  const p: Pool = { control, helpers: [], seq: new Array<number>(count).fill(0) };
  for (let slot = 0; slot < count; slot++) {
    try {
      const worker = new Worker(HELPER_SOURCE, {
        eval: true,
        workerData: { module: wasm.module, memory: wasm.memory, control: control.buffer, slot },
      });
      worker.unref();
      // A helper that fails to start or dies leaves its slot: products use the others (READY stays or goes to 0).
      const drop = () => {
        Atomics.store(control, slot * SLOT_INTS + SLOT.READY, 0);
        p.helpers[slot] = null;
      };
      worker.on('error', drop);
      worker.on('exit', drop);
      p.helpers.push(worker);
    } catch {
      p.helpers.push(null);
    }
  }
  pool = p;
  return pool;
}

/** Asks every helper to return and forgets the pool (a later product starts a new one). */
function stopHelpers(): void {
  const p = pool;
  pool = undefined;
  if (!p) return;
  for (let slot = 0; slot < p.helpers.length; slot++) {
    const base = slot * SLOT_INTS;
    Atomics.store(p.control, base + SLOT.READY, 0);
    Atomics.store(p.control, base + SLOT.SEQ, -1);
    Atomics.notify(p.control, base + SLOT.SEQ);
  }
}
