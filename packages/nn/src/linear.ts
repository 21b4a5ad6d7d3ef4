/**
 * `Linear`: y = x · Wᵀ (+ b), with PyTorch's weight layout `[out, in]`.
 *
 * @module
 */

import { type BlockWeight, blockLinear, linear, linearMany, linearResidual, type Tensor, zeros } from '@andes/tensor';
import { initSeed, type ModuleInit, normalInit } from './init.js';
import { Module, type Parameter, qualified } from './module.js';

/** Options of {@link Linear}: bias, std, and where its weight's seed comes from (model seed and this module's name). */
export interface LinearOptions extends ModuleInit {
  /** Add a bias vector (default false: LLaMA has none). */
  bias?: boolean;
  /** Standard deviation of the normal initialisation of the weight (default 0.02). Biases start at 0. */
  std?: number;
}

/**
 * An additive adapter attached to a {@link Linear} (LoRA): its modules become children of the layer, so their
 * parameters are named `<layer>.<child>.weight` (PEFT's `q_proj.lora_A.weight`), and its `delta` is added to the
 * layer's output.
 */
export interface LinearAdapter {
  /** Child modules to register under the layer, by name (e.g. `lora_A`, `lora_B`). */
  modules(): Array<[string, Module]>;
  /** What the adapter adds to `rows · Wᵀ` for `rows [N, in]` → `[N, out]`; null while merged into the weight. */
  delta(rows: Tensor, training: boolean): Tensor | null;
}

/** A fully connected layer: `[..., in] → [..., out]`, weight `[out, in]` as in PyTorch and Hugging Face. */
export class Linear extends Module {
  /** `[outFeatures]`, or null without bias. */
  readonly bias: Parameter | null;
  /** The attached adapter (see {@link Linear.attachAdapter}), or null. */
  adapter: LinearAdapter | null = null;

  /**
   * @param inFeatures - input width
   * @param outFeatures - output width
   */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    if (options.empty) {
      this.registerUnloadedParameter('weight', [outFeatures, inFeatures], qualified(options.name, 'weight'));
    } else {
      this.registerParameter(
        'weight',
        normalInit([outFeatures, inFeatures], options.std ?? 0.02, initSeed(options, 'weight')),
      );
    }
    this.bias = options.bias ? this.registerParameter('bias', zeros([outFeatures])) : null;
  }

  /**
   * `[outFeatures, inFeatures]`.
   *
   * @throws Error naming it while unloaded (built `empty`), or once {@link Linear.useBlockWeight} replaced it.
   */
  get weight(): Parameter {
    if (this.#block !== null) {
      throw new Error(
        `Linear.weight: the float32 weight was replaced by a ${this.#block.type} block weight (see blockWeight)`,
      );
    }
    return this.parameter('weight');
  }

  /**
   * The weight in a half-float or block-quantized format when {@link Linear.useBlockWeight} moved it there (then
   * `weight` is freed and no longer a parameter), else null.
   */
  get blockWeight(): BlockWeight | null {
    return this.#block;
  }

  #block: BlockWeight | null = null;

  /**
   * Replaces the float32 weight by `weight` (`[out, in]`, e.g. Q4_0 blocks read from a GGUF file) for inference: the
   * float32 parameter is freed and leaves `stateDict()`; forward decodes the blocks inside the matmul kernel. The
   * layer takes ownership (its `dispose` frees `weight`).
   *
   * @throws Error when the shapes differ or an adapter is attached.
   */
  useBlockWeight(weight: BlockWeight): void {
    const [out, inFeatures] = weight.shape;
    if (out !== this.outFeatures || inFeatures !== this.inFeatures) {
      throw new Error(
        `Linear.useBlockWeight: ${weight.type} weight [${weight.shape.join(', ')}] does not match [${this.outFeatures}, ${this.inFeatures}]`,
      );
    }
    if (this.adapter !== null) throw new Error('Linear.useBlockWeight: detach the adapter first (train in float32)');
    if (this.#block === null) this.unregisterParameter('weight');
    else this.#block.dispose();
    this.#block = weight;
  }

  /** Attaches an adapter (at most one per layer): its modules become children, its delta joins the forward pass. */
  attachAdapter(adapter: LinearAdapter): void {
    if (this.adapter !== null) throw new Error('Linear.attachAdapter: this layer already has an adapter');
    for (const [name, module] of adapter.modules()) this.registerModule(name, module);
    this.adapter = adapter;
  }

  /** `x [..., in] → [..., out]`; multiplies by a transposed view of the weight (no copy). */
  forward(x: Tensor): Tensor {
    if (x.shape[x.shape.length - 1] !== this.inFeatures) {
      throw new Error(`Linear.forward: input [${x.shape.join(', ')}] does not end in inFeatures=${this.inFeatures}`);
    }
    // linear folds the leading axes into rows: one [N, in] · [in, out] product, one GEMM per operand in backward.
    const y = this.#block ? blockLinear(x, this.#block, this.bias) : linear(x, this.weight, this.bias);
    if (this.adapter === null) return y;
    const rows = x.shape.length > 2 ? x.reshape([-1, this.inFeatures]) : x;
    const delta = this.adapter.delta(rows, this.training);
    if (delta === null) return y;
    return y.add(x.shape.length > 2 ? delta.reshape([...x.shape.slice(0, -1), this.outFeatures]) : delta);
  }

  /**
   * The float32 weight when `forward` is exactly `x · Wᵀ` (no bias, adapter or block weight), else null: what the
   * fused products (`linearMany`, `linearResidual`) may read. Half and block weights keep the separate path.
   */
  get plainWeight(): Tensor | null {
    if (this.#block !== null || this.bias !== null || this.adapter !== null) return null;
    const w = this.weight;
    return w.dtype === 'float32' ? w : null;
  }

  /** `residual + forward(x)`, the residual add fused into the product when the weight is plain float32. */
  forwardResidual(x: Tensor, residual: Tensor): Tensor {
    const w = this.plainWeight;
    return w === null ? residual.add(this.forward(x)) : linearResidual(x, w, residual);
  }

  /** Frees the parameters and the block weight, if any. */
  override dispose(): void {
    super.dispose();
    this.#block?.dispose();
    this.#block = null;
  }
}

/**
 * `layers.map((l) => l.forward(x))` for layers reading one input (q/k/v, gate/up): one grouped product (`linearMany`,
 * one dispatch forward and one per gradient) when every weight is plain float32, else each layer's own forward.
 */
export function forwardMany(layers: readonly Linear[], x: Tensor): Tensor[] {
  const weights = layers.map((l) => l.plainWeight);
  if (weights.every((w) => w !== null)) return linearMany(x, weights as Tensor[]);
  return layers.map((l) => l.forward(x));
}
