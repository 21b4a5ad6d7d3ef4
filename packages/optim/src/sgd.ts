/**
 * SGD with (optionally Nesterov) momentum and L2 weight decay, composed from elementwise ops.
 *
 * @module
 */

import { keep, noGrad, type Tensor, tensor, tidy, zerosLike } from '@andes/tensor';
import { buffersToHost, checkStateDict, namedParams, type OptimizerStateDict, type ParamsInput } from './params.js';

/** Options of {@link SGD}. */
export interface SGDOptions {
  /** Learning rate (default 0.01). */
  lr?: number;
  /** Momentum coefficient μ (default 0: plain SGD). */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient, g + wd·p (default 0). */
  weightDecay?: number;
}

/**
 * PyTorch's SGD: g ← s·∇ + wd·p; b ← μ·b + g (b = g on the first step); p ← p − lr·(Nesterov ? g + μ·b : b).
 *
 * @example
 * ```ts
 * const opt = new SGD(model.namedParameters(), { lr: 0.1, momentum: 0.9 });
 * loss.backward();
 * opt.step();
 * opt.zeroGrad();
 * ```
 */
export class SGD {
  /** Current learning rate. */
  lr: number;
  /** Momentum coefficient. */
  readonly momentum: number;
  /** Nesterov momentum. */
  readonly nesterov: boolean;
  /** L2 weight decay. */
  readonly weightDecay: number;
  /** Steps taken. */
  stepCount = 0;
  readonly #params: Array<[string, Tensor]>;
  readonly #buffers: Tensor[];

  /** Creates the optimizer (and zeroed momentum buffers when momentum > 0). */
  constructor(params: ParamsInput, options: SGDOptions = {}) {
    this.#params = namedParams(params, 'SGD');
    this.lr = options.lr ?? 0.01;
    this.momentum = options.momentum ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    if (!(this.momentum >= 0 && this.momentum < 1))
      throw new Error(`SGD: momentum must lie in [0, 1), got ${this.momentum}`);
    if (this.nesterov && this.momentum === 0) throw new Error('SGD: nesterov needs momentum > 0');
    this.#buffers = this.momentum > 0 ? this.#params.map(([, p]) => keep(zerosLike(p))) : [];
  }

  /** Updates every parameter that has a gradient, in place; `gradScale` (number or scalar tensor) multiplies gradients. */
  step(options: { lr?: number; gradScale?: Tensor | number } = {}): void {
    if (options.lr !== undefined) this.lr = options.lr;
    const first = this.stepCount === 0;
    this.stepCount++;
    noGrad(() =>
      tidy(() => {
        this.#params.forEach(([, p], i) => {
          if (p.grad === null) return;
          let g: Tensor = p.grad;
          if (options.gradScale !== undefined) g = g.mul(options.gradScale);
          if (this.weightDecay > 0) g = g.add(p.mul(this.weightDecay));
          if (this.momentum > 0) {
            const buffer = this.#buffers[i] as Tensor;
            buffer.assign(first ? g : buffer.mul(this.momentum).add(g));
            g = this.nesterov ? g.add(buffer.mul(this.momentum)) : buffer;
          }
          p.assign(p.sub(g.mul(this.lr)));
        });
      }),
    );
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const [, p] of this.#params) p.zeroGrad();
  }

  /** Step count and momentum buffers (`momentum`) on the host. */
  stateDict(): Promise<OptimizerStateDict> {
    return buffersToHost(
      'sgd',
      this.stepCount,
      this.#params.map(([name, p], i): readonly [string, readonly number[], Record<string, Tensor>] => [
        name,
        p.shape,
        this.momentum > 0 ? { momentum: this.#buffers[i] as Tensor } : {},
      ]),
    );
  }

  /** Restores {@link SGD.stateDict}. */
  loadStateDict(dict: OptimizerStateDict): void {
    checkStateDict('SGD.loadStateDict', 'sgd', dict, this.#params, this.momentum > 0 ? ['momentum'] : []);
    if (this.momentum > 0) {
      this.#params.forEach(([name, p], i) => {
        const host = tensor(dict.state[name]?.buffers.momentum as Float32Array, [...p.shape]);
        this.#buffers[i]?.assign(host);
        host.dispose();
      });
    }
    this.stepCount = dict.step;
  }

  /** Frees the momentum buffers. */
  dispose(): void {
    for (const t of this.#buffers) if (!t.isDisposed) t.dispose();
  }
}
