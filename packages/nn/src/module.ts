/**
 * `Module`: a tree of layers with named parameters, in the spirit of PyTorch's `nn.Module`, so parameter names are
 * dotted paths (`model.layers.0.self_attn.q_proj.weight`) identical to Hugging Face's.
 *
 * @module
 */

import { keep, type Tensor, tensor } from '@andes/tensor';

/** A trainable tensor: a float32 `Tensor` with `requiresGrad` set, owned by exactly one module. */
export type Parameter = Tensor;

/** A value accepted by {@link Module.loadStateDict}: a tensor, or host data with its shape (row-major). */
export type StateDictEntry = Tensor | { readonly shape: readonly number[]; readonly data: Float32Array };

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Throw when the state dict lacks a parameter or has a name the model does not know (default true). */
  strict?: boolean;
}

/** What {@link Module.loadStateDict} did not match (always empty when `strict`). */
export interface LoadStateDictResult {
  /** Model parameters absent from the state dict (left unchanged). */
  missing: string[];
  /** State-dict names the model does not have (ignored). */
  unexpected: string[];
}

function isHostEntry(entry: StateDictEntry): entry is { shape: readonly number[]; data: Float32Array } {
  // A Tensor has a data() method; a host entry has a Float32Array there.
  return typeof (entry as Tensor).data !== 'function';
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Base class of every layer. Subclasses register parameters and children in their constructor, in the order they
 * should be listed, and implement their own `forward`.
 */
export class Module {
  /** `true` in training mode (the default), `false` after {@link Module.eval}. */
  training = true;
  readonly #parameters = new Map<string, Parameter>();
  readonly #children = new Map<string, Module>();

  /** Registers `value` under `name` as a parameter of this module, marking it `requiresGrad`. Returns it. */
  protected registerParameter(name: string, value: Tensor): Parameter {
    if (name.includes('.') || this.#parameters.has(name) || this.#children.has(name)) {
      throw new Error(`Module.registerParameter: invalid or duplicate name '${name}'`);
    }
    if (value.dtype !== 'float32') {
      throw new Error(`Module.registerParameter: parameter '${name}' must be float32, got ${value.dtype}`);
    }
    if (!value.requiresGrad) value.requiresGrad_(true);
    // The module owns its parameters: no enclosing tidy() may free them (dispose() does).
    keep(value);
    this.#parameters.set(name, value);
    return value;
  }

  /**
   * Removes parameter `name` from this module's list and frees it (a layer whose weight moved to another storage,
   * e.g. a `BlockWeight`, no longer lists it in `stateDict()` or `parameters()`).
   */
  protected unregisterParameter(name: string): void {
    const p = this.#parameters.get(name);
    if (p === undefined) throw new Error(`Module.unregisterParameter: no parameter '${name}'`);
    this.#parameters.delete(name);
    if (!p.isDisposed) p.dispose();
  }

  /** Registers a child module under `name` (its parameters are listed as `name.…`). Returns it. */
  protected registerModule<M extends Module>(name: string, child: M): M {
    if (name.includes('.') || this.#parameters.has(name) || this.#children.has(name)) {
      throw new Error(`Module.registerModule: invalid or duplicate name '${name}'`);
    }
    this.#children.set(name, child);
    return child;
  }

  /** Direct children, by name, in registration order. */
  namedChildren(): Array<[string, Module]> {
    return [...this.#children];
  }

  /** Every module of the tree (this one first, named `prefix`), depth first, with dotted names. */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.#children) {
      out.push(...child.namedModules(prefix === '' ? name : `${prefix}.${name}`));
    }
    return out;
  }

  /** Every parameter of the tree with its dotted Hugging Face name, depth first in registration order. */
  namedParameters(prefix = ''): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    for (const [name, p] of this.#parameters) out.push([prefix === '' ? name : `${prefix}.${name}`, p]);
    for (const [name, child] of this.#children) {
      out.push(...child.namedParameters(prefix === '' ? name : `${prefix}.${name}`));
    }
    return out;
  }

  /** Every parameter of the tree, in the order of {@link Module.namedParameters}. */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** The parameters by name. The tensors are the live parameters, not copies: read them, do not dispose them. */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters());
  }

  /**
   * Copies values into the parameters in place (`Tensor.assign`), so optimizers holding them stay valid.
   *
   * @throws Error naming the parameter and both shapes on a shape mismatch; with `strict` (default), naming every
   *   missing and unexpected key.
   */
  loadStateDict(
    entries: ReadonlyMap<string, StateDictEntry> | Record<string, StateDictEntry>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const strict = options.strict ?? true;
    const source: ReadonlyMap<string, StateDictEntry> =
      entries instanceof Map ? entries : new Map(Object.entries(entries as Record<string, StateDictEntry>));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((name) => !source.has(name));
    const unexpected = [...source.keys()].filter((name) => !own.has(name));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      throw new Error(
        `loadStateDict: missing keys [${missing.join(', ')}]; unexpected keys [${unexpected.join(', ')}]` +
          ' (pass { strict: false } to load a subset)',
      );
    }
    // Check every shape before writing anything, so a failed load leaves the model untouched.
    for (const [name, param] of own) {
      const entry = source.get(name);
      if (entry === undefined) continue;
      const same = entry.shape.length === param.shape.length && entry.shape.every((d, i) => d === param.shape[i]);
      if (!same) {
        throw new Error(
          `loadStateDict: '${name}' has shape ${shapeText(param.shape)} in the model but ${shapeText(entry.shape)} in the state dict`,
        );
      }
      if (isHostEntry(entry)) {
        if (entry.data.length !== param.size) {
          throw new Error(
            `loadStateDict: '${name}' has ${entry.data.length} values for shape ${shapeText(entry.shape)} (${param.size})`,
          );
        }
      } else if ((entry as Tensor).dtype !== 'float32') {
        throw new Error(`loadStateDict: '${name}' must be float32, got ${(entry as Tensor).dtype}`);
      }
    }
    for (const [name, param] of own) {
      const entry = source.get(name);
      if (entry === undefined) continue;
      if (isHostEntry(entry)) {
        const host = tensor(entry.data, [...entry.shape]);
        param.assign(host);
        host.dispose();
      } else {
        param.assign(entry as Tensor);
      }
    }
    return { missing, unexpected };
  }

  /** Sets training mode on the whole tree. Returns `this`. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Sets evaluation mode on the whole tree (same as `train(false)`). Returns `this`. */
  eval(): this {
    return this.train(false);
  }

  /** Total number of scalars in the parameters. */
  numParameters(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }

  /** Frees every parameter of the tree. The module is unusable afterwards. */
  dispose(): void {
    for (const p of this.parameters()) if (!p.isDisposed) p.dispose();
  }
}

/** An indexed list of child modules, named `0`, `1`, … (as `model.layers.0`). */
export class ModuleList<M extends Module> extends Module {
  readonly #items: M[] = [];

  /** Builds the list from `items`, registering them as children `0..n-1`. */
  constructor(items: Iterable<M>) {
    super();
    for (const item of items) this.push(item);
  }

  /** Appends a module under the next index. */
  push(item: M): void {
    this.registerModule(String(this.#items.length), item);
    this.#items.push(item);
  }

  /** The module at `index`. */
  at(index: number): M {
    const item = this.#items[index];
    if (item === undefined) throw new Error(`ModuleList.at: index ${index} out of range [0, ${this.#items.length})`);
    return item;
  }

  /** Number of modules. */
  get length(): number {
    return this.#items.length;
  }

  /** Iterates over the modules in order. */
  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }
}
