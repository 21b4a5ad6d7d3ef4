/**
 * The layer boundary of a step that takes cut-ins on a device whose work runs apart from this thread (WebGPU; see
 * `LlamaEngine`'s `cutIns`). A cut-in's forward is encoded at a boundary, so the queue runs it between two layers
 * of the step: correctness needs no wait for the device at all, only that the host reach the boundary while the
 * step's layers are still running. Waiting for every layer (a drain, as the first cut-ins did) starved the device
 * while the host encoded the next layer and cost lavapipe ~20 % of its 16-client throughput; here the boundary
 * submits the layer just encoded and waits only until at most `depth` submitted layers are unfinished, so the device
 * always has work queued while the host encodes the next layer or a cut-in (apps/serve/BENCHMARKS.md, lvp3).
 *
 * @module
 */
import { sync } from '@andes/tensor';

/** Submitted layers of one step and the waits that bound how far the host runs ahead of the device. */
export class LayersInFlight {
  /** Completion of each submitted layer not waited for yet, oldest first. */
  private readonly pending: Promise<void>[] = [];

  /**
   * @param depth Layers left running on the device at a boundary (0: wait for all, a drain).
   * @param fence Submits the work recorded so far and resolves once the device has finished it (the backend's
   *   `sync`, which does exactly that when its promise is not awaited at once).
   */
  constructor(
    readonly depth: number,
    private readonly fence: () => Promise<void> = sync,
  ) {
    LayersInFlight.checkDepth(depth);
  }

  /** Returns `depth` when it is a whole number ≥ 0 or `Infinity` (never wait); throws naming it otherwise. */
  static checkDepth(depth: number): number {
    if (!(Number.isInteger(depth) || depth === Infinity) || depth < 0) {
      throw new Error(`LayersInFlight: layers in flight must be a whole number ≥ 0 or Infinity, got ${depth}`);
    }
    return depth;
  }

  /**
   * Submits the layer just encoded, then waits until no more than `depth` submitted layers are unfinished. Rejects
   * with the device's error (lost device, a failed command) of any layer it waits for.
   */
  async boundary(): Promise<void> {
    if (this.depth === Infinity) return;
    const done = this.fence();
    // Awaited at a later boundary, or never when the step ends first: a failure then surfaces at the step's readback.
    done.catch(() => {});
    this.pending.push(done);
    while (this.pending.length > this.depth) await this.pending.shift();
  }
}
