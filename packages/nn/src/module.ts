/**
 * `Module`: a tree of layers with named parameters, in the spirit of PyTorch's `nn.Module`, so parameter names are
 * dotted paths (`model.layers.0.self_attn.q_proj.weight`) identical to Hugging Face's.
 *
 * @module
 */

import { keep, noGrad, type Tensor, tensor, zeros } from '@andes/tensor';

/** A trainable tensor: a float32 `Tensor` with `requiresGrad` set, owned by exactly one module. */
export type Parameter = Tensor;

/** A value accepted by {@link Module.loadStateDict}: a tensor, or host data with its shape (row-major). */
export type StateDictEntry = Tensor | { readonly shape: readonly number[]; readonly data: Float32Array };

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Throw when the state dict lacks a parameter or has a name the model does not know (default true). */
  strict?: boolean;
  /**
   * Delete each entry from `entries` (a Map) as soon as it is copied in, so a loader's host arrays are freed one
   * tensor at a time and a load never holds the weights twice (default false).
   */
  release?: boolean;
}

/** What {@link Module.loadStateDict} did not match (always empty when `strict`). */
export interface LoadStateDictResult {
  /** Model parameters absent from the state dict (left unchanged). */
  missing: string[];
  /** State-dict names the model does not have (ignored). */
  unexpected: string[];
}

/** The dotted name of parameter `param` of the module named `name` (`''` or undefined: a module on its own). */
export function qualified(name: string | undefined, param: string): string {
  return name === undefined || name === '' ? param : `${name}.${param}`;
}

function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A fresh float32 tensor with `source`'s values (the module must own what it registers). */
function copyOf(source: Tensor): Tensor {
  return noGrad(() => {
    const out = zeros([...source.shape]);
    out.assign(source);
    return out;
  });
}

function isHostEntry(entry: StateDictEntry): entry is { shape: readonly number[]; data: Float32Array } {
  // A Tensor has a data() method; a host entry has a Float32Array there.
  return typeof (entry as Tensor).data !== 'function';
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A parameter declared by shape but not allocated (a module built with `empty`): it takes the place the parameter will
 * have, so loading it keeps the registration order.
 */
class UnloadedParameter {
  constructor(
    readonly shape: readonly number[],
    /** Its full dotted name, for errors. */
    readonly label: string,
  ) {}
}

/** A state-dict name resolved to the module holding it and the name there. */
interface ParameterSlot {
  owner: Module;
  local: string;
  shape: readonly number[];
}

/**
 * Base class of every layer. Subclasses register parameters and children in their constructor, in the order they
 * should be listed, and implement their own `forward`.
 */
export class Module {
  /** `true` in training mode (the default), `false` after {@link Module.eval}. */
  training = true;
  readonly #parameters = new Map<string, Parameter | UnloadedParameter>();
  readonly #children = new Map<string, Module>();

  /** Registers `value` under `name` as a parameter of this module, marking it `requiresGrad`. Returns it. */
  protected registerParameter(name: string, value: Tensor): Parameter {
    if (name.includes('.') || this.#parameters.has(name) || this.#children.has(name)) {
      throw new Error(`Module.registerParameter: invalid or duplicate name '${name}'`);
    }
    if (value.dtype !== 'float32') {
      throw new Error(`Module.registerParameter: parameter '${name}' must be float32, got ${value.dtype}`);
    }
    return this.#adopt(name, value);
  }

  /** Marks `value` trainable and owned by this module under `name` (a new slot, or an unloaded one's place). */
  #adopt(name: string, value: Tensor): Parameter {
    if (!value.requiresGrad) value.requiresGrad_(true);
    // The module owns its parameters: no enclosing tidy() may free them (dispose() does).
    keep(value);
    this.#parameters.set(name, value);
    return value;
  }

  /**
   * Declares parameter `name` of `shape` without allocating it (see `ModuleInit.empty`): it is absent from
   * `parameters()` and `stateDict()` until `loadStateDict` supplies it, and {@link Module.parameter} throws naming
   * `label` (its full dotted name) until then.
   */
  protected registerUnloadedParameter(name: string, shape: readonly number[], label: string): void {
    if (name.includes('.') || this.#parameters.has(name) || this.#children.has(name)) {
      throw new Error(`Module.registerUnloadedParameter: invalid or duplicate name '${name}'`);
    }
    this.#parameters.set(name, new UnloadedParameter([...shape], label === '' ? name : label));
  }

  /**
   * The parameter registered as `name`.
   *
   * @throws Error naming the parameter and its shape while it is declared but not loaded yet.
   */
  protected parameter(name: string): Parameter {
    const p = this.#parameters.get(name);
    if (p === undefined) throw new Error(`Module.parameter: no parameter '${name}'`);
    if (p instanceof UnloadedParameter) {
      throw new Error(
        `${p.label} ${shapeText(p.shape)} is not loaded: the model was built without weights (empty); load a state dict or block weights before using it`,
      );
    }
    return p;
  }

  /**
   * Removes parameter `name` from this module's list and frees it (a layer whose weight moved to another storage,
   * e.g. a `BlockWeight`, no longer lists it in `stateDict()` or `parameters()`).
   */
  protected unregisterParameter(name: string): void {
    const p = this.#parameters.get(name);
    if (p === undefined) throw new Error(`Module.unregisterParameter: no parameter '${name}'`);
    this.#parameters.delete(name);
    if (!(p instanceof UnloadedParameter) && !p.isDisposed) p.dispose();
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
    for (const [name, p] of this.#parameters) {
      if (!(p instanceof UnloadedParameter)) out.push([prefix === '' ? name : `${prefix}.${name}`, p]);
    }
    for (const [name, child] of this.#children) {
      out.push(...child.namedParameters(prefix === '' ? name : `${prefix}.${name}`));
    }
    return out;
  }

  /** Parameters declared but not loaded yet (see `ModuleInit.empty`), with their dotted names and shapes. */
  namedUnloadedParameters(prefix = ''): Array<[string, readonly number[]]> {
    return this.#slots(prefix)
      .filter(([, slot]) => slot.owner.#parameters.get(slot.local) instanceof UnloadedParameter)
      .map(([name, slot]) => [name, slot.shape]);
  }

  /** Every parameter slot of the tree, loaded or not, by dotted name, in registration order. */
  #slots(prefix: string): Array<[string, ParameterSlot]> {
    const out: Array<[string, ParameterSlot]> = [];
    for (const [local, p] of this.#parameters) {
      out.push([prefix === '' ? local : `${prefix}.${local}`, { owner: this, local, shape: p.shape }]);
    }
    for (const [name, child] of this.#children) out.push(...child.#slots(prefix === '' ? name : `${prefix}.${name}`));
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
    const all: ReadonlyMap<string, StateDictEntry> =
      entries instanceof Map ? entries : new Map(Object.entries(entries as Record<string, StateDictEntry>));
    if (options.release && !(entries instanceof Map)) {
      throw new Error('loadStateDict: release needs the entries as a Map (it deletes each one once loaded)');
    }
    const own = new Map(this.#slots(''));
    const source = new Map([...all].filter(([name]) => own.has(name) || !this.ignoresStateDictEntry(name)));
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
        if (entry.data.length !== sizeOfShape(param.shape)) {
          throw new Error(
            `loadStateDict: '${name}' has ${entry.data.length} values for shape ${shapeText(entry.shape)} (${sizeOfShape(param.shape)})`,
          );
        }
      } else if ((entry as Tensor).dtype !== 'float32') {
        throw new Error(`loadStateDict: '${name}' must be float32, got ${(entry as Tensor).dtype}`);
      }
    }
    for (const [name, { owner, local }] of own) {
      const entry = source.get(name);
      if (entry === undefined) continue;
      const param = owner.#parameters.get(local) as Parameter | UnloadedParameter;
      if (param instanceof UnloadedParameter) {
        // Allocated now, one tensor at a time: an empty model never holds a second copy of its weights.
        owner.#adopt(local, isHostEntry(entry) ? tensor(entry.data, [...entry.shape]) : copyOf(entry as Tensor));
      } else if (isHostEntry(entry)) {
        const host = tensor(entry.data, [...entry.shape]);
        param.assign(host);
        host.dispose();
      } else {
        param.assign(entry as Tensor);
      }
      source.delete(name);
      if (options.release) (entries as Map<string, StateDictEntry>).delete(name);
    }
    return { missing, unexpected };
  }

  /**
   * Whether `loadStateDict` skips the state-dict entry `name` the model has no parameter for, instead of calling
   * it unexpected (e.g. buffers that other libraries save beside the parameters). Default: none.
   */
  protected ignoresStateDictEntry(_name: string): boolean {
    return false;
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

  /** Total number of scalars in the parameters, unloaded ones included (the count the architecture declares). */
  numParameters(): number {
    let n = 0;
    for (const [, slot] of this.#slots('')) n += sizeOfShape(slot.shape);
    return n;
  }

  /** Frees every parameter of the tree (and what subclasses hold, e.g. block weights). Unusable afterwards. */
  dispose(): void {
    for (const p of this.#parameters.values()) if (!(p instanceof UnloadedParameter) && !p.isDisposed) p.dispose();
    // Through each child's own dispose, so layers that hold more than parameters free it too.
    for (const child of this.#children.values()) child.dispose();
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
