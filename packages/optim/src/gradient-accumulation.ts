/**
 * Gradient accumulation: several micro-batches per optimizer step, for an effective batch larger than memory allows.
 *
 * @module
 */

/**
 * Counts micro-batches and says when to step. Gradients add up across `backward()` calls, so each micro-batch's
 * loss is scaled by `lossScale` (1/N) — or, equivalently and without an extra op, the optimizer gets
 * `gradScale: accumulator.lossScale` — to step on the mean gradient.
 *
 * @example
 * ```ts
 * const acc = new GradientAccumulator(4);
 * for (const batch of batches) {
 *   model.loss(batch.ids, batch.targets).backward();
 *   if (acc.tick()) {
 *     opt.step({ lr: lr(opt.stepCount), gradScale: acc.lossScale });
 *     opt.zeroGrad();
 *   }
 * }
 * ```
 */
export class GradientAccumulator {
  #micro = 0;

  /** @param microSteps - micro-batches per optimizer step (≥ 1) */
  constructor(readonly microSteps: number) {
    if (!Number.isInteger(microSteps) || microSteps < 1) {
      throw new Error(`GradientAccumulator: microSteps must be a positive integer, got ${microSteps}`);
    }
  }

  /** 1 / microSteps: the factor that turns summed micro-batch gradients into their mean. */
  get lossScale(): number {
    return 1 / this.microSteps;
  }

  /** Micro-batches accumulated since the last step. */
  get pending(): number {
    return this.#micro;
  }

  /** Records one micro-batch; true when it completes a group (time to step and zero the gradients). */
  tick(): boolean {
    this.#micro++;
    if (this.#micro < this.microSteps) return false;
    this.#micro = 0;
    return true;
  }

  /** Forgets pending micro-batches (e.g. after resuming). */
  reset(): void {
    this.#micro = 0;
  }
}
