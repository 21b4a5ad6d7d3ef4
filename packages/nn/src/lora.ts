/**
 * LoRA (Hu et al. 2021): a frozen `Linear` plus a trainable low-rank update,
 * y = x·Wᵀ + (alpha/r)·dropout(x)·Aᵀ·Bᵀ with A `[r, in]` and B `[out, r]`. A starts kaiming-uniform as PEFT's
 * default (bound 1/√in), B at zero, so a fresh adapter leaves the model's outputs unchanged. Adapter parameters are
 * named as PEFT names them inside the model (`…q_proj.lora_A.weight`), so saving in PEFT's layout is a renaming.
 *
 * @module
 */

import { dropout, matmul, noGrad, rand, type Tensor, tidy, zeros } from '@andes/tensor';
import { parameterSeed } from './init.js';
import { Linear, type LinearAdapter } from './linear.js';
import type { Module, Parameter } from './module.js';

/** Every projection of a LLaMA decoder block: the usual "all linear" LoRA targets. */
export const LORA_LLAMA_TARGETS: readonly string[] = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
];

/** Hyper-parameters of LoRA adapters, as PEFT's `LoraConfig` names them in spirit. */
export interface LoraOptions {
  /** Rank r of the update (≥ 1). */
  r: number;
  /** Scale numerator: the update is multiplied by alpha / r. */
  alpha: number;
  /** Names of the `Linear` layers to adapt, matched against the last part of their path (`q_proj`, `v_proj`). */
  targets: readonly string[];
  /** Dropout on the adapter's input while training (default 0). */
  dropout?: number;
  /**
   * Seed of the A matrices (default 0). Each adapter derives its own from this seed and its parameter's name, so
   * adding a target never reseeds the others.
   */
  seed?: number;
}

/** The low-rank update of one `Linear`: children `lora_A` (`[r, in]`) and `lora_B` (`[out, r]`). */
export class LoraAdapter implements LinearAdapter {
  /** Down-projection, weight `[r, in]`. */
  readonly loraA: Linear;
  /** Up-projection, weight `[out, r]`. */
  readonly loraB: Linear;
  /** alpha / r. */
  readonly scaling: number;
  /** Dropout probability on the input of A while training. */
  readonly dropout: number;
  /** Whether the update is currently folded into the base weight (then `delta` is null). */
  merged = false;

  /**
   * @param base - the adapted layer (its weight is read by merge/unmerge)
   * @param options - rank, alpha, dropout, and the seed of A
   */
  constructor(
    readonly base: Linear,
    options: { r: number; alpha: number; dropout?: number; seed: number },
  ) {
    const { r, alpha } = options;
    if (!Number.isInteger(r) || r < 1) throw new Error(`LoraAdapter: r must be a positive integer, got ${r}`);
    if (!(alpha > 0)) throw new Error(`LoraAdapter: alpha must be > 0, got ${alpha}`);
    this.dropout = options.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) {
      throw new Error(`LoraAdapter: dropout must be in [0, 1), got ${this.dropout}`);
    }
    this.scaling = alpha / r;
    this.loraA = new Linear(base.inFeatures, r, { std: 0 });
    this.loraB = new Linear(r, base.outFeatures, { std: 0 });
    // kaiming_uniform_(a=√5) as torch's Linear and PEFT use: gain √(1/3), bound = √3·gain/√fan_in = 1/√fan_in.
    const bound = 1 / Math.sqrt(base.inFeatures);
    noGrad(() =>
      tidy(() => {
        this.loraA.weight.assign(
          rand([r, base.inFeatures], { seed: options.seed })
            .mul(2 * bound)
            .sub(bound),
        );
        this.loraB.weight.assign(zeros([base.outFeatures, r]));
      }),
    );
  }

  /** The two children, under PEFT's names. */
  modules(): Array<[string, Module]> {
    return [
      ['lora_A', this.loraA],
      ['lora_B', this.loraB],
    ];
  }

  /** `(alpha/r) · dropout(rows) · Aᵀ · Bᵀ` for `rows [N, in]` → `[N, out]`; null while merged. */
  delta(rows: Tensor, training: boolean): Tensor | null {
    if (this.merged) return null;
    const input = this.dropout > 0 && training ? dropout(rows, this.dropout) : rows;
    return this.loraB.forward(this.loraA.forward(input)).mul(this.scaling);
  }

  /** The full-rank update `(alpha/r) · B · A`, `[out, in]` (a new tensor, no gradient). */
  update(): Tensor {
    return noGrad(() => tidy(() => matmul(this.loraB.weight, this.loraA.weight).mul(this.scaling)));
  }

  /** Folds the update into the base weight (W ← W + (alpha/r)·B·A); the adapter then adds nothing. */
  merge(): void {
    if (this.merged) throw new Error('LoraAdapter.merge: already merged');
    noGrad(() => tidy(() => this.base.weight.assign(this.base.weight.add(this.update()))));
    this.merged = true;
  }

  /** Takes the update back out of the base weight (W ← W − (alpha/r)·B·A), equal to W up to float rounding. */
  unmerge(): void {
    if (!this.merged) throw new Error('LoraAdapter.unmerge: not merged');
    noGrad(() => tidy(() => this.base.weight.assign(this.base.weight.sub(this.update()))));
    this.merged = false;
  }
}

function lastPart(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

/** Whether a parameter path belongs to a LoRA adapter. */
export function isLoraParameter(name: string): boolean {
  return /\.lora_[AB]\.weight$/.test(name);
}

/**
 * Attaches LoRA adapters to every `Linear` of `model` whose last path part is in `options.targets` and freezes
 * everything else (`requiresGrad` false, so no gradients and, with {@link trainableParameters}, no optimizer state).
 * Returns the adapters by the adapted layer's path (`model.layers.0.self_attn.q_proj`).
 *
 * @throws Error naming a target that matches no layer, or a layer that already has an adapter.
 */
export function applyLora(model: Module, options: LoraOptions): Map<string, LoraAdapter> {
  if (options.targets.length === 0) throw new Error('applyLora: no target modules given');
  const linears = model.namedModules().filter(([, m]) => m instanceof Linear) as Array<[string, Linear]>;
  for (const target of options.targets) {
    if (!linears.some(([path]) => lastPart(path) === target)) {
      const known = [...new Set(linears.map(([path]) => lastPart(path)))].join(', ');
      throw new Error(`applyLora: target '${target}' matches no Linear layer (layers are named ${known})`);
    }
  }
  const adapters = new Map<string, LoraAdapter>();
  for (const [path, linear] of linears) {
    if (!options.targets.includes(lastPart(path))) continue;
    const adapter = new LoraAdapter(linear, {
      r: options.r,
      alpha: options.alpha,
      dropout: options.dropout,
      seed: parameterSeed(options.seed ?? 0, `${path}.lora_A.weight`),
    });
    linear.attachAdapter(adapter);
    adapters.set(path, adapter);
  }
  for (const [name, p] of model.namedParameters()) {
    if (!isLoraParameter(name) && p.requiresGrad) p.requiresGrad_(false);
  }
  return adapters;
}

/** The LoRA adapters attached to `model`, by the adapted layer's path. */
export function loraAdapters(model: Module): Map<string, LoraAdapter> {
  const out = new Map<string, LoraAdapter>();
  for (const [path, m] of model.namedModules()) {
    if (m instanceof Linear && m.adapter instanceof LoraAdapter) out.set(path, m.adapter);
  }
  return out;
}

/** Folds every adapter of `model` into its base weight (see {@link LoraAdapter.merge}). */
export function mergeLora(model: Module): void {
  for (const adapter of loraAdapters(model).values()) adapter.merge();
}

/** Takes every merged adapter of `model` back out of its base weight. */
export function unmergeLora(model: Module): void {
  for (const adapter of loraAdapters(model).values()) adapter.unmerge();
}

/** The parameters that require gradients, with their names: what an optimizer should hold. */
export function trainableParameters(model: Module): Array<[string, Parameter]> {
  return model.namedParameters().filter(([, p]) => p.requiresGrad);
}

/** The parameters that are not LoRA adapters (the base model's, under its own names), e.g. to save a merged model. */
export function baseParameters(model: Module): Map<string, Parameter> {
  return new Map(model.namedParameters().filter(([name]) => !isLoraParameter(name)));
}
