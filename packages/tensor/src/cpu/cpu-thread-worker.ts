/**
 * The helper thread's program (cpu-threads.ts starts it as an `eval` worker, so no file path has to resolve from
 * `dist/` or from the sources under vitest) and the layout of the control block it shares with the calling thread.
 *
 * Control block: an Int32Array over a SharedArrayBuffer, one slot of {@link SLOT_INTS} per helper. The caller writes a
 * job's kernel, group range and arguments, then bumps `SEQ` (Atomics.store + notify); the helper runs the kernel on
 * its range and stores the same number into `DONE` (+ notify). Why not postMessage: a decode step issues ~100
 * products, and a message costs a macrotask turn on each side where an atomic store costs nanoseconds.
 *
 * @module
 */

/** Int32 fields of one helper's slot. */
export const SLOT = {
  /** Job number, bumped by the caller for each job; -1 asks the helper to return. */
  SEQ: 0,
  /** The job number the helper finished last. */
  DONE: 1,
  /** 1 once the helper has instantiated the kernels; 0 before and after it stops. */
  READY: 2,
  /** 1 when the helper's last job threw (the caller raises the error). */
  FAILED: 3,
  /** Which kernel: an index into {@link HELPER_KERNELS}. */
  KERNEL: 4,
  /** First group of bᵀ rows (see DotKernel) of the helper's share. */
  FIRST: 5,
  /** End (exclusive) of the share's groups. */
  END: 6,
  /** The kernel's 13 arguments, for the whole product (the helper offsets them to its share). */
  ARGS: 7,
} as const;
/** Int32s per slot: the fields, rounded up to a 128-byte line pair so that helpers' slots never share a cache line. */
export const SLOT_INTS = 32;
/** The dot kernels a helper runs, by index (exports of the tile module, wasm-tile.ts). */
export const HELPER_KERNELS = ['tile', 'gemv'] as const;
/**
 * Atomics.load polls before a helper sleeps in Atomics.wait once a job is done (~20–40 µs): the products of a decode
 * step come tens of µs apart, and a futex wake-up costs more than that poll.
 */
export const HELPER_SPINS = 20000;

/**
 * The program: instantiate the module on the shared memory, report ready, then loop taking jobs. A share is groups
 * [FIRST, END) of the product's groups: w and o advance by whole groups (arguments 3 / 7 by 9 / 11), so each output
 * is computed by the same kernel code over the same k order as on one thread.
 */
export const HELPER_SOURCE = `
// process.getBuiltinModule, not require: an eval worker is an ES module when the parent runs with --input-type=module.
const { workerData } = process.getBuiltinModule('node:worker_threads');
const { module, memory, control, slot } = workerData;
const c = new Int32Array(control);
const base = slot * ${SLOT_INTS};
const e = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
const kernels = ${JSON.stringify(HELPER_KERNELS)}.map((k) => e[k]);
Atomics.store(c, base + ${SLOT.READY}, 1);
// Job numbers start at 1; a stop (-1) posted before this point ends the loop at once.
let seen = 0;
for (;;) {
  let s = Atomics.load(c, base + ${SLOT.SEQ});
  for (let i = 0; s === seen && i < ${HELPER_SPINS}; i++) s = Atomics.load(c, base + ${SLOT.SEQ});
  while (s === seen) {
    Atomics.wait(c, base + ${SLOT.SEQ}, seen);
    s = Atomics.load(c, base + ${SLOT.SEQ});
  }
  if (s < 0) break;
  seen = s;
  const a = base + ${SLOT.ARGS};
  const g0 = c[base + ${SLOT.FIRST}];
  const groups = c[base + ${SLOT.END}] - g0;
  try {
    kernels[c[base + ${SLOT.KERNEL}]](
      c[a], c[a + 1], c[a + 2], c[a + 3] + g0 * c[a + 9], c[a + 4], groups, c[a + 6],
      c[a + 7] + g0 * c[a + 11], c[a + 8], c[a + 9], c[a + 10], c[a + 11], c[a + 12],
    );
    c[base + ${SLOT.FAILED}] = 0;
  } catch {
    c[base + ${SLOT.FAILED}] = 1;
  }
  Atomics.store(c, base + ${SLOT.DONE}, s);
  Atomics.notify(c, base + ${SLOT.DONE});
}
Atomics.store(c, base + ${SLOT.READY}, 0);
`;
