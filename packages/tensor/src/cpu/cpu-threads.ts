/**
 * Intra-op threads for the CPU backend's dot kernels: one product runs on several cores, synchronously as before.
 *
 * Why: a batched product is compute-bound (16 decode rows cost ~4× one row on one core) while the machine has more
 * cores. The kernels' memory is shared (wasm-tile.ts), so n − 1 helper threads (Node `worker_threads`, unref'd so they
 * never keep a process alive) instantiate the same compiled module on it. A product's output columns, in chunks of
 * whole column groups, are taken by the caller and the helpers alike (cpu-thread-worker.ts); the caller then waits
 * for the chunks in flight (a spin, then Atomics.wait). Each output is computed by the same kernel over the same k
 * order whichever thread runs it, so results are bit-identical to one thread.
 *
 * Helpers start lazily and asynchronously on the first product big enough to split (start-up ~30–50 ms); until one
 * reports ready, products run on the calling thread alone, and nothing ever waits for a start-up. When the helpers
 * repeatedly come late (no free core: other work holds them off), products run alone for a while (STRIKES below). Where threads are impossible (an unshared memory, a browser: no `worker_threads`) everything runs
 * on the calling thread.
 *
 * @module
 */
import {
  CLOSED,
  CONTROL,
  CONTROL_INTS,
  HELPER_KERNELS,
  HELPER_SOURCE,
  HELPER_SPIN_MS,
  MAX_PARTS,
  RANGE_KERNELS_FROM,
  runChunksSource,
  STOP,
} from './cpu-thread-worker.js';
import { type AttendRows, wasmAttention } from './wasm-attention.js';
import { builtBlockModules } from './wasm-block-kernels.js';
import { nodeProcess } from './wasm-relaxed-simd.js';
import { type DotKernel, FUSED_SUFFIX, type WasmTile, wasmTile } from './wasm-tile.js';

/**
 * Multiply-adds below which a product stays on one thread: posting a job and collecting the chunks cost a few µs,
 * which must stay small against the work (at ~15 G multiply-adds/s, 0.5 M take ~35 µs). Measured, BENCHMARKS.md:
 * splits paid 1.4× from ~0.9 M, 1.0–1.1× at 0.2–0.3 M.
 */
export const SPLIT_MIN_MULTIPLY_ADDS = 1 << 19;
/** Chunks per thread of a split product at least: a late or preempted helper leaves its chunks to the others. */
const CHUNKS_PER_THREAD = 4;
/**
 * A product of W multiply-adds goes in √(W / CHUNK_SCALE) chunks at least. Why: the threads finish up to a chunk
 * apart (a product ends with its last chunk), while each chunk taken costs ~1 µs; with c chunks the loss is about
 * c·1 µs / threads + (W / c) / 2 at ~18 G multiply-adds/s, least near c = √(W / 2¹⁴). With 4 chunks per thread, the
 * 16-row LM head's chunks took ~1 ms each and two threads ran it 1.85× faster than one; now it takes ~95 chunks.
 */
const CHUNK_SCALE = 1 << 14;
/**
 * Chunks per thread of a range kernel's job, whose items differ in cost (attention rows of different lengths, longest
 * first): small chunks, so that the threads finish together.
 */
const RANGE_CHUNKS_PER_THREAD = 16;
/** Default cap on threads (the caller included) when neither ANDES_CPU_THREADS nor setCpuThreads chooses. */
const DEFAULT_MAX_THREADS = 4;
/**
 * Back-off when helpers do not keep up. The caller's own chunks set the time scale: a helper on a free core finishes
 * its last chunk within about one chunk time of the caller, so the caller polls for LATE chunk times and then sleeps
 * (yielding its core, which a helper sharing it needs), and a product where it waited longer is a strike. After
 * STRIKES in a row, the next SOLO products big enough to split run on the caller alone (the helpers fall asleep),
 * then splitting is tried again. Why: pinned to one core (`taskset -c 0`), as when other work holds the other cores,
 * split products measured 0.5–0.9× of one thread.
 */
const LATE = 2;
const STRIKES = 4;
const SOLO = 256;

interface WorkerLike {
  unref(): void;
  on(event: 'error' | 'exit', listener: () => void): void;
}
type WorkerConstructor = new (source: string, options: { eval: true; workerData: unknown }) => WorkerLike;

/** The running helpers: their control block, count, and the caller's copy of the chunk loop. */
interface Pool {
  readonly control: Int32Array;
  readonly helpers: number;
  /** The caller's copy of the chunk loop; returns the non-empty chunks the caller ran. */
  readonly runChunks: (kernels: readonly (DotKernel | AttendRows)[]) => number;
  /** The caller's kernels by {@link HELPER_KERNELS} index (the current job's is set before each run). */
  readonly kernels: (DotKernel | AttendRows)[];
  /** Which block modules (wasm-block-kernels.ts) the helpers instantiated. */
  readonly blocks: { readonly blockRows: boolean; readonly blockRowsRelaxed: boolean };
  seq: number;
  /** Split products in a row where the helpers came late, and products left to run alone (see STRIKES). */
  strikes: number;
  solo: number;
}

let chosen: number | undefined;
let fromEnv: number | undefined;
let pool: Pool | null | undefined;
let splitMin = SPLIT_MIN_MULTIPLY_ADDS;
let splits = 0;
let helperNice = 0;
/** Microseconds helpers poll for the next job before they sleep (setCpuHelperSpin). */
let helperSpinUs = HELPER_SPIN_MS * 1000;

/** Jobs split across threads so far in this thread, one per product or group of products (tests check that a split really happened). */
export function splitProducts(): number {
  return splits;
}

/** Non-empty chunks of split jobs that the current helper threads have run (tests check that helpers took part). */
export function helperChunks(): number {
  return pool ? Atomics.load(pool.control, CONTROL.HELPER_RAN) : 0;
}

/** Sets the split threshold in multiply-adds (undefined: the default), for the bench that measures it; returns the previous. */
export function setSplitMinMultiplyAdds(multiplyAdds: number | undefined): number {
  const previous = splitMin;
  splitMin = multiplyAdds ?? SPLIT_MIN_MULTIPLY_ADDS;
  return previous;
}

/**
 * Nice levels (0–19) that helper threads started from now on go below the thread that starts them, on Linux (where
 * nice values are per thread); elsewhere nothing changes. Why: a helper's preemption only leaves its chunks to the
 * caller, while the caller's stalls the product, so when other work must take a core the helper should give it.
 * Returns the previous setting.
 */
export function setCpuHelperNice(levels: number): number {
  if (!Number.isInteger(levels) || levels < 0 || levels > 19) {
    throw new Error(`setCpuHelperNice: levels must be an integer in [0, 19], got ${levels}`);
  }
  const previous = helperNice;
  helperNice = levels;
  return previous;
}

/**
 * Milliseconds the helper threads poll for the next job before they sleep (undefined: the default, 1 ms); applies at
 * once to running helpers. Why: polling lets a helper join a product within microseconds, which small products need
 * (a sleeping helper wakes ~50–200 µs later, when the caller has done most of the work alone); but where other
 * threads want the cores (a busy server's HTTP work), the polls take CPU time from them: an andes-serve CPU server at
 * 16 clients served 2–12 % more tokens/s with TTFT p95 21 → 15–17 ms without polling (apps/serve/BENCHMARKS.md).
 * Returns the previous setting in milliseconds.
 */
export function setCpuHelperSpin(ms: number | undefined): number {
  if (ms !== undefined && !(ms >= 0 && ms <= 1000)) {
    throw new Error(`setCpuHelperSpin: ms must be in [0, 1000] or undefined, got ${ms}`);
  }
  const previous = helperSpinUs / 1000;
  helperSpinUs = Math.round((ms ?? HELPER_SPIN_MS) * 1000);
  if (pool) Atomics.store(pool.control, CONTROL.SPIN_US, helperSpinUs);
  return previous;
}

/** Threads a product may use, the caller included (1: no helpers); the environment is read once. */
export function cpuThreads(): number {
  if (chosen !== undefined) return chosen;
  if (fromEnv !== undefined) return fromEnv;
  const env = nodeProcess()?.env?.ANDES_CPU_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`ANDES_CPU_THREADS must be a positive integer, got '${env}'`);
    fromEnv = n;
    return n;
  }
  const os = nodeProcess()?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  fromEnv = Math.max(1, Math.min(DEFAULT_MAX_THREADS, os?.availableParallelism?.() ?? 1));
  return fromEnv;
}

/**
 * Sets how many threads one CPU-backend product may use, the calling thread included (1 turns the helpers off;
 * undefined restores the default: `ANDES_CPU_THREADS`, else the machine's available parallelism capped at 4).
 * With 1, running helpers stay asleep (a bench can switch back and forth); another count replaces them lazily, on the
 * next product big enough to split. Any call ends a back-off (products run alone while helpers do not keep up, see
 * the module comment). Results do not depend on the count (bit for bit). Returns the previous setting.
 */
export function setCpuThreads(threads: number | undefined): number | undefined {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new Error(`setCpuThreads: threads must be a positive integer or undefined, got ${threads}`);
  }
  const previous = chosen;
  chosen = threads;
  const helpers = cpuThreads() - 1;
  if (helpers > 0 && pool?.helpers !== helpers) stopHelpers();
  if (pool) {
    pool.strikes = 0;
    pool.solo = 0;
  }
  return previous;
}

/** Helpers that have reported ready (products split only across these). */
export function readyCpuHelpers(): number {
  return pool ? Atomics.load(pool.control, CONTROL.READY) : 0;
}

/**
 * Starts the helpers now (they still start asynchronously) and resolves once all have reported ready, or after
 * `timeoutMs`; resolves to the number ready. For tests and benches that must measure with threads.
 */
export async function startCpuHelpers(timeoutMs = 5000): Promise<number> {
  const want = helperPool()?.helpers ?? 0;
  const end = Date.now() + timeoutMs;
  while (readyCpuHelpers() < want && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return readyCpuHelpers();
}

/** One product of a {@link runDotKernels} job: the kernel's arguments (column groups at argument 5), its multiply-adds. */
export interface DotProduct {
  /** The kernel's 13 arguments for the whole product. */
  readonly args: Readonly<Parameters<DotKernel>>;
  /** Its multiply-adds (they size its chunks and decide whether the job is split). */
  readonly multiplyAdds: number;
}

/**
 * Runs a dot kernel (`tile` or `gemv` of wasm-tile.ts) over its `groups` column groups (argument 5), in chunks taken
 * by the calling thread and the ready helpers when `multiplyAdds` is large enough, else as one call.
 */
export function runDotKernel(
  wasm: WasmTile,
  which: 'tile' | 'gemv',
  args: Readonly<Parameters<DotKernel>>,
  multiplyAdds: number,
): void {
  runDotKernels(wasm, which, [{ args, multiplyAdds }]);
}

/**
 * Runs several products of one dot kernel (a layer's q/k/v or gate/up, which share their rows of a) as one job of
 * chunks, {@link MAX_PARTS} at a time, when their multiply-adds together are large enough to split; else each as one
 * call. One job instead of one per product: the threads wait for each other once, at the end of the last.
 */
export function runDotKernels(wasm: WasmTile, which: 'tile' | 'gemv', products: readonly DotProduct[]): void {
  if (products.length > MAX_PARTS) {
    for (let i = 0; i < products.length; i += MAX_PARTS) runDotKernels(wasm, which, products.slice(i, i + MAX_PARTS));
    return;
  }
  let total = 0;
  let groups = 0;
  for (const product of products) {
    total += product.multiplyAdds;
    groups += product.args[5];
  }
  const p = splitPool(groups, total);
  if (!p) {
    for (const product of products) wasm[which](...product.args);
    return;
  }
  const c = p.control;
  const ready = readyHelpers(p);
  // Chunks per part: its share of CHUNKS_PER_THREAD per thread, and at least √(multiply-adds / CHUNK_SCALE).
  let chunks = 0;
  for (const [part, { args, multiplyAdds }] of products.entries()) {
    const share = Math.ceil((CHUNKS_PER_THREAD * (ready + 1) * multiplyAdds) / total);
    chunks += Math.max(1, Math.min(args[5], Math.max(share, Math.ceil(Math.sqrt(multiplyAdds / CHUNK_SCALE)))));
    c[CONTROL.PART_ENDS + part] = chunks;
    for (let i = 0; i < 13; i++) c[CONTROL.ARGS + 13 * part + i] = args[i]!;
  }
  c[CONTROL.PARTS] = products.length;
  // The helpers must run the kernels the caller runs (fused or plain, wasm-tile.ts), so that every column rounds alike.
  const kernel = HELPER_KERNELS.indexOf(wasm.fused ? `${which}${FUSED_SUFFIX}` : which);
  runJob(p, kernel, wasm[which], chunks, `the ${which} kernel failed in a chunk (groups ${groups})`);
}

/**
 * Runs a range kernel (`attendRows` of wasm-attention.ts, `blockRows` of block-rows.ts: items [first, first + count)
 * of a job whose parameters are at byte address `params`) over `items` items, in chunks taken by the calling thread and the ready helpers when
 * `multiplyAdds` is large enough, else as one call. Each item must depend only on the parameters, never on the range
 * that holds it, so that results do not depend on the thread count.
 */
export function runRangeKernel(
  which: 'attendRows' | 'attendRowsF16' | 'attendRowsBf16' | 'blockRows' | 'blockRowsRelaxed',
  kernel: AttendRows,
  params: number,
  items: number,
  multiplyAdds: number,
): void {
  const p = splitPool(items, multiplyAdds);
  // A pool started before this block module was built lacks it: start a new one (the next products split).
  if (p && (which === 'blockRows' || which === 'blockRowsRelaxed') && !p.blocks[which]) stopHelpers();
  if (!p || pool !== p) {
    kernel(params, 0, items);
    return;
  }
  const index = HELPER_KERNELS.indexOf(which);
  if (index < RANGE_KERNELS_FROM) throw new Error(`cpu threads: ${which} is not a range kernel`);
  const c = p.control;
  // One part: the parameters' address at argument 0 and the item count where a dot kernel has its groups (5).
  const chunks = Math.min(items, RANGE_CHUNKS_PER_THREAD * (readyHelpers(p) + 1));
  c[CONTROL.PART_ENDS] = chunks;
  c[CONTROL.ARGS] = params;
  c[CONTROL.ARGS + 5] = items;
  c[CONTROL.PARTS] = 1;
  runJob(p, index, kernel, chunks, `the ${which} kernel failed in a chunk (items ${items})`);
}

/** The pool to split a job of `groups` groups across, or null to run it as one call (see {@link runDotKernels}). */
function splitPool(groups: number, multiplyAdds: number): Pool | null {
  const threads = cpuThreads();
  const p = threads > 1 && multiplyAdds >= splitMin && groups > 1 ? helperPool() : null;
  if (!p || readyHelpers(p) === 0 || p.solo > 0) {
    if (p && p.solo > 0) p.solo--;
    return null;
  }
  return p;
}

/** Helpers of `p` ready to take chunks now (at most the thread count less the caller). */
function readyHelpers(p: Pool): number {
  return Math.min(Atomics.load(p.control, CONTROL.READY), cpuThreads() - 1);
}

/**
 * Opens the job whose parts and arguments are written (kernel `kernel` of {@link HELPER_KERNELS}, the caller's copy
 * `own`, `chunks` chunks in all), runs chunks, waits for all; throws `failure` when a chunk threw.
 */
function runJob(p: Pool, kernel: number, own: DotKernel | AttendRows, chunks: number, failure: string): void {
  const c = p.control;
  c[CONTROL.KERNEL] = kernel;
  c[CONTROL.CHUNKS] = chunks;
  c[CONTROL.FAILED] = 0;
  Atomics.store(c, CONTROL.FINISHED, 0);
  // Opening the job after its fields are written: a chunk taken from NEXT sees them.
  Atomics.store(c, CONTROL.NEXT, 0);
  p.seq = p.seq >= CLOSED ? 1 : p.seq + 1;
  Atomics.store(c, CONTROL.SEQ, p.seq);
  Atomics.notify(c, CONTROL.SEQ);
  splits++;
  const start = performance.now();
  p.kernels[kernel] = own;
  const mine = p.runChunks(p.kernels);
  const ran = performance.now();
  // Chunks that helpers took may still run: wait for them, then close the job so that a late helper takes nothing.
  const late = ran + (LATE * (ran - start)) / Math.max(mine, 1);
  let finished = Atomics.load(c, CONTROL.FINISHED);
  for (let i = 1; finished < chunks; i++) {
    if ((i & 255) === 0 && performance.now() > late) break;
    finished = Atomics.load(c, CONTROL.FINISHED);
  }
  while (finished < chunks) {
    Atomics.wait(c, CONTROL.FINISHED, finished);
    finished = Atomics.load(c, CONTROL.FINISHED);
  }
  Atomics.store(c, CONTROL.NEXT, CLOSED);
  p.strikes = mine > 0 && performance.now() > late ? p.strikes + 1 : 0;
  if (p.strikes >= STRIKES) {
    p.strikes = 0;
    p.solo = SOLO;
  }
  if (c[CONTROL.FAILED]) throw new Error(`cpu threads: ${failure}`);
}

/** The pool, started on first call where threads are possible and wanted; null where not. */
function helperPool(): Pool | null {
  if (pool !== undefined) return pool;
  pool = null;
  const helpers = cpuThreads() - 1;
  const wasm = wasmTile();
  const Worker = (nodeProcess()?.getBuiltinModule?.('node:worker_threads') as { Worker?: WorkerConstructor })?.Worker;
  if (helpers < 1 || !wasm?.shared || !Worker || typeof SharedArrayBuffer === 'undefined') return pool;
  const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_INTS));
  control[CONTROL.NEXT] = CLOSED;
  control[CONTROL.SPIN_US] = helperSpinUs;
  // The helpers' chunk loop, compiled here from the same text (one copy of it; only where workers exist).
  const runChunks = new Function('c', 'kernels', `${runChunksSource('c', 'kernels')}\nreturn runChunks(false);`);
  const blocks = builtBlockModules();
  const p: Pool = {
    blocks: { blockRows: blocks.plain !== undefined, blockRowsRelaxed: blocks.relaxed !== undefined },
    control,
    helpers,
    seq: 0,
    strikes: 0,
    solo: 0,
    runChunks: (kernels) => runChunks(control, kernels),
    kernels: [],
  };
  for (let slot = 0; slot < helpers; slot++) {
    try {
      const worker = new Worker(HELPER_SOURCE, {
        eval: true,
        workerData: {
          module: wasm.module,
          attention: wasmAttention()?.module,
          blocks,
          memory: wasm.memory,
          control: control.buffer,
          nice: helperNice,
        },
      });
      // Never keep a process alive for helpers; a helper that fails to start is simply not counted as ready.
      worker.unref();
      worker.on('error', () => {});
    } catch {
      // No thread: products use the others, or the caller alone.
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
  Atomics.store(p.control, CONTROL.SEQ, STOP);
  Atomics.notify(p.control, CONTROL.SEQ);
}
