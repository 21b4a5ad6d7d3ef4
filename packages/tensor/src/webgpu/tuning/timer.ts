/**
 * Timing one kernel run for the tuner: GPU timestamp queries where the device has `timestamp-query` (only the
 * kernels' own execution is measured), else submit-and-wait on the host (`onSubmittedWorkDone`; includes the submit
 * latency, which is the same for every candidate of a problem and so does not change the ranking).
 *
 * @module
 */

import type { Runtime } from '../runtime.js';

/** Measures the milliseconds one `run()` takes; `label` names the candidate (`family:variant`). */
export interface KernelTimer {
  readonly name: string;
  measure(rt: Runtime, run: () => void, label: string): Promise<number>;
}

/** Host wall clock around record + submit + wait for completion. */
export const waitTimer: KernelTimer = {
  name: 'submit-and-wait',
  async measure(rt, run) {
    await rt.sync();
    const t0 = performance.now();
    run();
    await rt.sync();
    return performance.now() - t0;
  },
};

/** Timestamp queries written at the start of the first and the end of the last compute pass of `run()`. */
export const timestampTimer: KernelTimer = {
  name: 'timestamp-query',
  async measure(rt, run) {
    const ms = await rt.timeGpu(run);
    if (ms === undefined) return waitTimer.measure(rt, run, '');
    return ms;
  },
};

/** The best timer the device supports (`timestampQuery`: the device was created with `timestamp-query`). */
export function defaultTimer(device: { timestampQuery: boolean }): KernelTimer {
  return device.timestampQuery ? timestampTimer : waitTimer;
}
