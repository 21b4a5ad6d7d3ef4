/**
 * Scoped memory management: `tidy(fn)` disposes every tensor created inside fn except the ones it returns or `keep`s.
 * GPU memory is invisible to the garbage collector, so tensors must be freed explicitly.
 *
 * Every new Tensor registers here, so tensor.ts imports this file; tidy therefore names no Tensor (not even as a type,
 * which would close an import cycle) and works over the {@link TrackedTensor} interface that Tensor implements.
 *
 * @module
 */

/** What tidy needs of a tensor (Tensor implements it). */
export interface TrackedTensor {
  /** Size of each dimension; with `dispose`, how tidy recognises a tensor inside a returned object. */
  readonly shape: readonly number[];
  /** True after `dispose()`. */
  readonly isDisposed: boolean;
  /** True when {@link keep} exempted the tensor from tidy. */
  readonly isKept: boolean;
  /** Exempts the tensor from every tidy scope. */
  markKept(): void;
  /** Frees the tensor. */
  dispose(): void;
}

const scopes: TrackedTensor[][] = [];

/** Registers a newly created tensor with the innermost open tidy scope (internal). */
export function trackTensor(t: TrackedTensor): void {
  scopes[scopes.length - 1]?.push(t);
}

/** Every tensor inside a (nested) array or plain object result. */
function collect(value: unknown, out: Set<TrackedTensor>, isTensor: (v: unknown) => v is TrackedTensor): void {
  if (isTensor(value)) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, out, isTensor);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, isTensor);
  }
}

const looksLikeTensor = (v: unknown): v is TrackedTensor =>
  v !== null && typeof v === 'object' && typeof (v as { dispose?: unknown }).dispose === 'function' && 'shape' in v;

/**
 * Runs `fn` synchronously and disposes every tensor created inside it, except tensors in its result (a tensor, or
 * arrays / plain objects of tensors) and tensors marked with {@link keep}. Returned tensors belong to the enclosing
 * scope. Gradients written by `backward()` inside fn belong to their leaf tensors and survive. For async code use
 * `using` declarations (`Tensor[Symbol.dispose]`) instead: fn must not return a Promise.
 */
export function tidy<T>(fn: () => T): T {
  scopes.push([]);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    for (const t of scopes.pop()!) if (!t.isKept) t.dispose();
    throw e;
  }
  const created = scopes.pop()!;
  if (result instanceof Promise) {
    for (const t of created) if (!t.isKept) t.dispose();
    throw new Error('tidy: fn returned a Promise; tidy is synchronous (use `using` or dispose() in async code)');
  }
  const parent = scopes[scopes.length - 1];
  if (looksLikeTensor(result)) {
    // The common case (an op or a layer returning one tensor), without the set: ops nest tidy scopes per call.
    for (const t of created) {
      if (t === result) {
        if (parent && !t.isDisposed) parent.push(t);
      } else if (!t.isKept) t.dispose();
    }
    return result;
  }
  const keepSet = new Set<TrackedTensor>();
  collect(result, keepSet, looksLikeTensor);
  for (const t of created) if (!keepSet.has(t) && !t.isKept) t.dispose();
  // Only tensors born in this scope move up; returning an outer tensor must not hand it to the parent scope.
  if (parent) for (const t of created) if (keepSet.has(t) && !t.isDisposed) parent.push(t);
  return result;
}

/** Marks a tensor so no enclosing (or later) tidy disposes it; it must then be disposed by hand. Returns it. */
export function keep<T extends TrackedTensor>(t: T): T {
  t.markKept();
  return t;
}
