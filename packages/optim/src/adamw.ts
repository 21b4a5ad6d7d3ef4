/**
 * AdamW (Loshchilov & Hutter 2019) on the fused `adamwStep` kernel: one dispatch per parameter, no readback.
 *
 * @module
 */

import { adamwStep, keep, noGrad, type Tensor, tensor, tidy, zerosLike } from '@andes/tensor';
import { clipGradNorm } from './clip-grad-norm.js';
import { buffersToHost, checkStateDict, namedParams, type OptimizerStateDict, type ParamsInput } from './params.js';

/** Options of {@link AdamW}. Defaults are the LLaMA paper's. */
export interface AdamWOptions {
  /** Learning rate (default 3e-4); usually set per step from a schedule. */
  lr?: number;
  /** (β₁, β₂), default (0.9, 0.95). */
  betas?: readonly [number, number];
  /** Added to sqrt(v̂), default 1e-8. */
  eps?: number;
  /** Decoupled weight decay, default 0.1, applied only where `decay` says. */
  weightDecay?: number;
  /** Which parameters decay; default: matrices only (ndim ≥ 2), as llama2.c and nanoGPT — not norms or biases. */
  decay?: (name: string, param: Tensor) => boolean;
  /** Clip the global gradient norm to this (default 1.0); 0 or Infinity turns clipping off. */
  maxGradNorm?: number;
}

/** Options of one {@link AdamW.step}. */
export interface AdamWStepOptions {
  /** Learning rate of this step (default: the optimizer's `lr`, which it then becomes). */
  lr?: number;
  /** Multiplies every gradient before clipping and the update (a number or scalar tensor, e.g. 1/N micro-batches). */
  gradScale?: Tensor | number;
}

/** What one step reports. */
export interface StepResult {
  /**
   * Global gradient norm before clipping (after `gradScale`), a scalar tensor on the device, or null when clipping
   * is off. The caller owns it: `await norm.item()` when logging, then `dispose()`.
   */
  gradNorm: Tensor | null;
}

/**
 * AdamW with decoupled weight decay (p ← p − lr·(m̂/(√v̂+ε) + wd·p)), global-norm clipping on the device, and named
 * state so it can be checkpointed and reloaded.
 *
 * @example
 * ```ts
 * const opt = new AdamW(model.namedParameters(), { lr: 3e-4 });
 * const lr = cosineSchedule({ peakLr: 3e-4, warmupSteps: 2000, totalSteps: 100_000 });
 * loss.backward();
 * const { gradNorm } = opt.step({ lr: lr(opt.stepCount) });
 * opt.zeroGrad();
 * ```
 */
export class AdamW {
  /** Current learning rate. */
  lr: number;
  /** β₁. */
  readonly beta1: number;
  /** β₂. */
  readonly beta2: number;
  /** ε. */
  readonly eps: number;
  /** Weight-decay coefficient for decayed parameters. */
  readonly weightDecay: number;
  /** Global-norm clip threshold (0 or Infinity: off). */
  readonly maxGradNorm: number;
  /** Steps taken (the next step uses `stepCount + 1` for bias correction). */
  stepCount = 0;
  readonly #params: Array<[string, Tensor]>;
  readonly #decays: boolean[];
  readonly #m: Tensor[];
  readonly #v: Tensor[];

  /** Creates the optimizer and its zeroed moments (two tensors the size of each parameter). */
  constructor(params: ParamsInput, options: AdamWOptions = {}) {
    this.#params = namedParams(params, 'AdamW');
    this.lr = options.lr ?? 3e-4;
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.95];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.1;
    this.maxGradNorm = options.maxGradNorm ?? 1.0;
    const { beta1, beta2 } = this;
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
      throw new Error(`AdamW: betas must lie in [0, 1), got (${beta1}, ${beta2})`);
    }
    if (!(this.eps > 0)) throw new Error(`AdamW: eps must be > 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`AdamW: weightDecay must be >= 0, got ${this.weightDecay}`);
    if (!(this.maxGradNorm >= 0)) throw new Error(`AdamW: maxGradNorm must be >= 0, got ${this.maxGradNorm}`);
    const decay = options.decay ?? ((_name: string, p: Tensor) => p.shape.length >= 2);
    this.#decays = this.#params.map(([name, p]) => decay(name, p));
    this.#m = this.#params.map(([, p]) => keep(zerosLike(p)));
    this.#v = this.#params.map(([, p]) => keep(zerosLike(p)));
  }

  /** The optimized parameters with their names. */
  get namedParameters(): ReadonlyArray<readonly [string, Tensor]> {
    return this.#params;
  }

  /** Whether the parameter `name` gets weight decay. */
  decays(name: string): boolean {
    const i = this.#params.findIndex(([n]) => n === name);
    if (i < 0) throw new Error(`AdamW.decays: unknown parameter '${name}'`);
    return this.#decays[i] as boolean;
  }

  /**
   * Updates every parameter that has a gradient, in place: optional `gradScale`, global-norm clipping (on the
   * device), then one fused AdamW dispatch per parameter. Never reads back.
   */
  step(options: AdamWStepOptions = {}): StepResult {
    if (options.lr !== undefined) this.lr = options.lr;
    const withGrad = this.#params.filter(([, p]) => p.grad !== null);
    if (withGrad.length === 0) throw new Error('AdamW.step: no parameter has a gradient (call backward() first)');
    const clipping = this.maxGradNorm > 0 && Number.isFinite(this.maxGradNorm);
    let gradNorm: Tensor | null = null;
    let scale: Tensor | null = null;
    let ownScale = false;
    if (clipping) {
      const clip = clipGradNorm(
        withGrad.map(([, p]) => p),
        this.maxGradNorm,
        options.gradScale,
      );
      gradNorm = clip.norm;
      scale = clip.scale;
      ownScale = true;
    } else if (typeof options.gradScale === 'number') {
      scale = tensor([options.gradScale], [1]);
      ownScale = true;
    } else if (options.gradScale !== undefined) {
      scale = options.gradScale;
    }
    this.stepCount++;
    const hyper = {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      step: this.stepCount,
    };
    noGrad(() =>
      tidy(() => {
        this.#params.forEach(([, p], i) => {
          if (p.grad === null) return;
          const weightDecay = this.#decays[i] ? this.weightDecay : 0;
          adamwStep(p, this.#m[i] as Tensor, this.#v[i] as Tensor, { ...hyper, weightDecay }, scale ?? undefined);
        });
      }),
    );
    if (ownScale) scale?.dispose();
    return { gradNorm };
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const [, p] of this.#params) p.zeroGrad();
  }

  /** Step count and first/second moments (`m`, `v`) of every parameter, read back to the host for a checkpoint. */
  stateDict(): Promise<OptimizerStateDict> {
    return buffersToHost(
      'adamw',
      this.stepCount,
      this.#params.map(
        ([name, p], i) => [name, p.shape, { m: this.#m[i] as Tensor, v: this.#v[i] as Tensor }] as const,
      ),
    );
  }

  /**
   * Restores the step count and moments from {@link AdamW.stateDict}.
   *
   * @throws Error naming missing/unexpected parameters or mismatched shapes; nothing is changed then.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    checkStateDict('AdamW.loadStateDict', 'adamw', dict, this.#params, ['m', 'v']);
    this.#params.forEach(([name, p], i) => {
      const entry = dict.state[name];
      if (entry === undefined) return;
      for (const [key, target] of [
        ['m', this.#m[i]],
        ['v', this.#v[i]],
      ] as const) {
        const host = tensor(entry.buffers[key] as Float32Array, [...p.shape]);
        target?.assign(host);
        host.dispose();
      }
    });
    this.stepCount = dict.step;
  }

  /** Frees the moment tensors (not the parameters). */
  dispose(): void {
    for (const t of [...this.#m, ...this.#v]) if (!t.isDisposed) t.dispose();
  }
}
