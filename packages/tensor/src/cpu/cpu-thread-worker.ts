/**
 * The helper thread's program (cpu-threads.ts starts it as an `eval` worker, so no file path has to resolve from
 * `dist/` or from the sources under vitest) and the layout of the control block it shares with the calling thread.
 *
 * Control block: an Int32Array over a SharedArrayBuffer holding one job at a time. The caller writes the kernel, its
 * arguments and the number of chunks (runs of whole column groups), opens the job (`NEXT` = 0) and bumps `SEQ`
 * (Atomics.store + notify). Every thread, the caller included, then takes chunks with Atomics.add on `NEXT` until
 * none is left, and counts each finished chunk in `FINISHED`; the caller waits for the count. Why chunks taken, not
 * shares handed out: a helper that sleeps (a futex wake-up measured ~200 µs on this VM) or is preempted by other
 * processes only does less of the work, never delays the product. Why not postMessage: a decode step issues ~100
 * products, and a message costs a macrotask turn on each side where an atomic store costs nanoseconds.
 *
 * @module
 */
import { blockRowsSource } from './block-rows.js';

/** Int32 fields of the control block. */
export const CONTROL = {
  /** Job number, bumped by the caller for each job (helpers wait on it); STOP asks the helpers to return. */
  SEQ: 0,
  /** The next chunk to take; CLOSED between jobs, so that a late helper's Atomics.add takes nothing. */
  NEXT: 1,
  /** Chunks finished (by any thread) in the current job. */
  FINISHED: 2,
  /** Chunks of the current job (all its parts). */
  CHUNKS: 3,
  /** Parts of the current job (1 to {@link MAX_PARTS}). */
  PARTS: 4,
  /** 1 when a chunk of the current job threw (the caller raises the error). */
  FAILED: 5,
  /** Which kernel: an index into {@link HELPER_KERNELS}. */
  KERNEL: 6,
  /** Helpers that have instantiated the kernels and take chunks (a helper adds 1 when ready, −1 when it returns). */
  READY: 7,
  /** Per part p (from 8 + p): the chunk after its last (its chunks follow the previous part's). */
  PART_ENDS: 8,
  /**
   * Microseconds a helper polls for the next job before it sleeps in Atomics.wait (see {@link HELPER_SPIN_MS}); the
   * caller may change it at any time (setCpuHelperSpin), a helper reads it each time it starts waiting.
   */
  SPIN_US: 12,
  /** Non-empty chunks the helpers have run since the pool started (only helpers add to it; tests read it). */
  HELPER_RAN: 13,
  /**
   * Per part p (from 16 + 13·p): the kernel's 13 arguments for the part's whole product (a chunk offsets them to its
   * groups; argument 5 is the part's group count).
   */
  ARGS: 16,
} as const;
/**
 * Products one job may hold: a layer's q/k/v or gate/up products, which read the same rows of a, go as one job, so the
 * threads meet once for all of them instead of once per product.
 */
export const MAX_PARTS = 4;
/** Int32s of the control block. */
export const CONTROL_INTS = CONTROL.ARGS + 13 * MAX_PARTS;
/** `NEXT` between jobs: above any chunk count. */
export const CLOSED = 0x40000000;
/** `SEQ` that stops the helpers (job numbers stay below it). */
export const STOP = 0x7fffffff;
/**
 * The kernels a helper runs, by index (exports of the tile module, wasm-tile.ts; the fused ones exist only in a
 * module built with them, and the caller names them only then; then the range kernels, see RANGE_KERNELS_FROM).
 */
export const HELPER_KERNELS = [
  'tile',
  'gemv',
  'tileFused',
  'gemvFused',
  'attendRows',
  'attendRowsF16',
  'attendRowsBf16',
  'blockRows',
  'blockRowsRelaxed',
] as const;
/**
 * Kernels of {@link HELPER_KERNELS} from this index on are range kernels, `(params, first, count)` over items
 * [first, first + count) of a one-part job whose parameters sit in wasm memory at argument 0, its item count at
 * argument 5 (`attendRows`, wasm-attention.ts, whose module a helper instantiates beside the tile module's; and
 * `blockRows`, block-rows.ts, over the block kernels' modules, wasm-block-kernels.ts).
 */
export const RANGE_KERNELS_FROM = 4;
/**
 * Milliseconds a helper polls for the next job before it sleeps in Atomics.wait, by default: the products of a decode
 * step come tens of µs apart, and a sleeping helper wakes too late to help (~200 µs here). OpenMP runtimes spin
 * similarly (OMP_WAIT_POLICY); `setCpuHelperSpin` changes it.
 */
export const HELPER_SPIN_MS = 1;
/**
 * A gap between two of a helper's polls longer than this (ms) means it was preempted: it then sleeps between the next
 * CALM_JOBS jobs instead of polling (pinned to one core with the caller, its polls cost split products 2×).
 */
export const PREEMPTED_MS = 0.05;
/** Jobs a preempted helper waits for asleep before it polls again (see {@link PREEMPTED_MS}). */
export const CALM_JOBS = 256;

/**
 * Groups (output columns of each of a kernel's far columns) per cache line of float32 output: 16 × 4 bytes = 64.
 * Chunks of a product start and end on multiples of it.
 */
export const LINE_GROUPS = 16;

/**
 * First group of chunk j of a product's n chunks over G groups (j = n gives G): G − ⌊G·(n − j)² / n²⌋, so chunks
 * shrink toward the end of the product (the last, which other threads may wait for, is the smallest), rounded up to
 * a multiple of {@link LINE_GROUPS} (chunks rounded to nothing are empty and skipped). Why whole lines: the threads
 * take neighbouring chunks at the same time, and a chunk edge inside a 64-byte line of output made both cores write
 * that line in every row of the tile (false sharing); on lines, two threads ran 182-row products 1.15–1.25× faster
 * and the 16-row ones 1.1–1.3× (bench/cpu-threads.mjs). Its source text is compiled into the chunk loop
 * ({@link runChunksSource}), which declares LINE_GROUPS beside it: it reads nothing else from this module.
 */
export function productChunkStart(j: number, n: number, G: number): number {
  const start = G - Math.floor((G * (n - j) * (n - j)) / (n * n));
  return Math.min(G, Math.ceil(start / LINE_GROUPS) * LINE_GROUPS);
}

/**
 * The program: instantiate the module on the shared memory, report ready, then loop: wait for a job, take chunks.
 * Chunk j of a part's n chunks is its groups [productChunkStart(j, n, G), productChunkStart(j + 1, n, G)) (decreasing
 * sizes in whole cache lines of output, see {@link productChunkStart}): w and o advance by whole groups (arguments 3 / 7 by 9 / 11), so each output is computed by the
 * same kernel code over the same k order as on one thread. A range kernel's chunk j of n is items [⌊j·G/n⌋, ⌊(j+1)·G/n⌋).
 */
export const HELPER_SOURCE = `
// process.getBuiltinModule, not require: an eval worker is an ES module when the parent runs with --input-type=module.
const { workerData } = process.getBuiltinModule('node:worker_threads');
const { module, attention, blocks, memory, control, nice } = workerData;
// Nice levels below the thread that started it (Linux keeps nice values per thread; see setCpuHelperNice).
if (nice > 0 && process.platform === 'linux') {
  const os = process.getBuiltinModule('node:os');
  os.setPriority(0, Math.min(19, os.getPriority(0) + nice));
}
const c = new Int32Array(control);
const e = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
const x = attention ? new WebAssembly.Instance(attention, { env: { mem: memory } }).exports : {};
${blockRowsSource()}
// The block kernels (plain and relaxed SIMD, those built when the pool started) as range kernels over weight rows.
const onBlocks = (m) => {
  if (!m) return undefined;
  const b = new WebAssembly.Instance(m, { env: { mem: memory } }).exports;
  return (params, first, count) => blockRows(b, memory, params, first, count);
};
const y = { blockRows: onBlocks(blocks?.plain), blockRowsRelaxed: onBlocks(blocks?.relaxed) };
const kernels = ${JSON.stringify(HELPER_KERNELS)}.map((k) => e[k] ?? x[k] ?? y[k]);
${runChunksSource('c', 'kernels')}
function serve() {
  Atomics.add(c, ${CONTROL.READY}, 1);
  let seen = Atomics.load(c, ${CONTROL.SEQ});
  let calm = 0;
  while (seen !== ${STOP}) {
    let s = Atomics.load(c, ${CONTROL.SEQ});
    if (s === seen) {
      let now = performance.now();
      const until = now + (calm > 0 ? 0 : c[${CONTROL.SPIN_US}] / 1000);
      if (calm > 0) calm--;
      for (let i = 1; s === seen; i++) {
        if ((i & 255) === 0) {
          const last = now;
          now = performance.now();
          if (now > until) break;
          // This thread lost its core for a while (polls are ~µs apart): the core is contended, and polling only
          // takes time from the thread that shares it (until the scheduler's next tick). Sleep for the next jobs.
          if (now - last > ${PREEMPTED_MS}) {
            calm = ${CALM_JOBS};
            break;
          }
        }
        s = Atomics.load(c, ${CONTROL.SEQ});
      }
    }
    while (s === seen) {
      Atomics.wait(c, ${CONTROL.SEQ}, seen);
      s = Atomics.load(c, ${CONTROL.SEQ});
    }
    seen = s;
    if (s !== ${STOP}) runChunks(true);
  }
  Atomics.sub(c, ${CONTROL.READY}, 1);
}
serve();
`;

/**
 * Source of `runChunks(helper)`: take chunks of the open job until none is left, run each, count it finished
 * (notifying the caller at the last); returns how many non-empty chunks this thread ran (a helper also adds them to
 * `HELPER_RAN`). The one copy of the chunk loop: the caller compiles the same text (cpu-threads.ts).
 */
export function runChunksSource(control: string, kernels: string): string {
  const c = control;
  return `
const LINE_GROUPS = ${LINE_GROUPS};
${productChunkStart.toString()}
function runChunks(helper) {
  for (let ran = 0; ; ) {
    const i = Atomics.add(${c}, ${CONTROL.NEXT}, 1);
    const chunks = ${c}[${CONTROL.CHUNKS}];
    if (i >= chunks) return ran;
    // The part holding chunk i, and the chunk's index j among its n chunks.
    let part = 0;
    while (i >= ${c}[${CONTROL.PART_ENDS} + part]) part++;
    const first = part === 0 ? 0 : ${c}[${CONTROL.PART_ENDS} + part - 1];
    const j = i - first;
    const n = ${c}[${CONTROL.PART_ENDS} + part] - first;
    const a = ${CONTROL.ARGS} + 13 * part;
    const G = ${c}[a + 5];
    const k = ${c}[${CONTROL.KERNEL}];
    const range = k >= ${RANGE_KERNELS_FROM};
    // A range kernel's items (attention rows, longest first) go in equal chunks; a product's in shrinking runs of
    // whole output lines (productChunkStart).
    const g0 = range ? Math.floor((j * G) / n) : productChunkStart(j, n, G);
    const g1 = range ? Math.floor(((j + 1) * G) / n) : productChunkStart(j + 1, n, G);
    if (g1 > g0) {
      ran++;
      if (helper) Atomics.add(${c}, ${CONTROL.HELPER_RAN}, 1);
    }
    try {
      if (g1 > g0 && range) ${kernels}[k](${c}[a], g0, g1 - g0);
      else if (g1 > g0) ${kernels}[k](
        ${c}[a], ${c}[a + 1], ${c}[a + 2], ${c}[a + 3] + g0 * ${c}[a + 9], ${c}[a + 4], g1 - g0, ${c}[a + 6],
        ${c}[a + 7] + g0 * ${c}[a + 11], ${c}[a + 8], ${c}[a + 9], ${c}[a + 10], ${c}[a + 11], ${c}[a + 12],
      );
    } catch {
      Atomics.store(${c}, ${CONTROL.FAILED}, 1);
    }
    if (Atomics.add(${c}, ${CONTROL.FINISHED}, 1) + 1 === chunks) Atomics.notify(${c}, ${CONTROL.FINISHED});
  }
}`;
}
