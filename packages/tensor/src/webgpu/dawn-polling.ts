/**
 * Dawn's Node binding (the `webgpu` package) settles its pending promises (buffer maps, `onSubmittedWorkDone`) by
 * re-queuing an anonymous native callback with the global `setImmediate` until the device has finished: a busy loop
 * on one core for as long as the GPU works. On a GPU that costs a core of the host; on a CPU adapter (lavapipe) the
 * "GPU" is the host's cores, so the loop takes one of them from lavapipe's threads. On a 2-core machine a 16-row
 * serving step of stories-15m took 84 ms wall and 148 CPU-ms with the loop spinning, 51 ms and 81 CPU-ms with it
 * waiting 1 ms between rounds (apps/serve/BENCHMARKS.md, issue 15, lvp2). Dawn reads `setImmediate` from the global
 * object on every round, so a wrapper there can slow its rounds without touching anyone else's callbacks.
 *
 * @module
 */

/** What `Function.prototype.toString` gives for an anonymous native function (Dawn's polling callback). */
const NATIVE_ANONYMOUS = 'function () { [native code] }';

/** Milliseconds between two of Dawn's polling rounds once throttled (the timers' finest step in Node). */
export const DAWN_POLL_MS = 1;

type Immediate = (callback: (...args: unknown[]) => void, ...args: unknown[]) => unknown;
type Timeout = (callback: (...args: unknown[]) => void, ms: number) => unknown;

let installed = false;

/** Whether `fn` looks like Dawn's polling callback: an anonymous native function queued without arguments. */
export function isDawnPoll(fn: unknown, args: readonly unknown[]): boolean {
  return (
    typeof fn === 'function' &&
    fn.name === '' &&
    args.length === 0 &&
    Function.prototype.toString.call(fn) === NATIVE_ANONYMOUS
  );
}

/**
 * Makes Dawn's completion polling wait {@link DAWN_POLL_MS} between rounds instead of spinning, for a WebGPU device on
 * a CPU adapter in Node (a result arrives at most that much later; the adapter gets the core back). Every other
 * `setImmediate` callback is queued as before. Once per process; returns false where there is no `setImmediate`
 * (browsers).
 */
export function throttleDawnPolling(): boolean {
  const g = globalThis as { setImmediate?: Immediate; setTimeout?: Timeout };
  if (installed) return true;
  const immediate = g.setImmediate;
  const timeout = g.setTimeout;
  if (typeof immediate !== 'function' || typeof timeout !== 'function') return false;
  const throttled = function (this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]) {
    if (isDawnPoll(callback, args)) return timeout(callback, DAWN_POLL_MS);
    return immediate.call(this, callback, ...args);
  };
  // Keeps what hangs on the original (Node's `util.promisify.custom`).
  Object.assign(throttled, immediate);
  g.setImmediate = throttled;
  installed = true;
  return true;
}
