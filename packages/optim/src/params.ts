/**
 * How optimizers receive parameters, and the host form of their state for checkpoints.
 *
 * @module
 */

import type { Tensor } from '@andes/tensor';

/**
 * Parameters to optimize: named pairs (e.g. `model.namedParameters()`, a `Map` from `model.stateDict()`), or a plain
 * list (named `'0'`, `'1'`, … in state dicts). Names key the optimizer state, so a checkpoint can be reloaded into a
 * freshly built model.
 */
export type ParamsInput = Iterable<readonly [string, Tensor]> | ReadonlyMap<string, Tensor> | readonly Tensor[];

/** Normalises {@link ParamsInput} to named pairs, checking names are unique and tensors are float32. */
export function namedParams(params: ParamsInput, where: string): Array<[string, Tensor]> {
  const out: Array<[string, Tensor]> = [];
  let index = 0;
  for (const item of params as Iterable<readonly [string, Tensor] | Tensor>) {
    if (Array.isArray(item)) out.push([item[0] as string, item[1] as Tensor]);
    else out.push([String(index), item as Tensor]);
    index++;
  }
  const seen = new Set<string>();
  for (const [name, p] of out) {
    if (seen.has(name)) throw new Error(`${where}: parameter name '${name}' appears twice`);
    seen.add(name);
    if (p.dtype !== 'float32') throw new Error(`${where}: parameter '${name}' must be float32, got ${p.dtype}`);
  }
  return out;
}

/** One parameter's optimizer state on the host: its shape and named buffers (e.g. AdamW's `m` and `v`). */
export interface ParamStateHost {
  /** Shape of the parameter (and of every buffer). */
  shape: number[];
  /** Buffers by name, row-major float32. */
  buffers: Record<string, Float32Array>;
}

/** An optimizer's state on the host, for checkpoints: the step count and each parameter's buffers by name. */
export interface OptimizerStateDict {
  /** Which optimizer wrote it (`'adamw'`, `'sgd'`). */
  kind: string;
  /** Optimizer steps taken so far. */
  step: number;
  /** Per-parameter buffers, keyed by parameter name. */
  state: Record<string, ParamStateHost>;
}

/** Reads named buffers back to host arrays. */
export async function buffersToHost(
  kind: string,
  step: number,
  entries: ReadonlyArray<readonly [string, readonly number[], Record<string, Tensor>]>,
): Promise<OptimizerStateDict> {
  const state: Record<string, ParamStateHost> = {};
  for (const [name, shape, tensors] of entries) {
    const buffers: Record<string, Float32Array> = {};
    for (const [key, t] of Object.entries(tensors)) buffers[key] = (await t.data()) as Float32Array;
    state[name] = { shape: [...shape], buffers };
  }
  return { kind, step, state };
}

/** Checks a state dict against the optimizer's parameters and buffers, naming any mismatch. */
export function checkStateDict(
  where: string,
  kind: string,
  dict: OptimizerStateDict,
  params: ReadonlyArray<readonly [string, Tensor]>,
  bufferNames: readonly string[],
): void {
  if (dict.kind !== kind) throw new Error(`${where}: state dict is for '${dict.kind}', not '${kind}'`);
  if (!Number.isInteger(dict.step) || dict.step < 0) throw new Error(`${where}: bad step ${dict.step}`);
  const names = new Set(params.map(([n]) => n));
  const unexpected = Object.keys(dict.state).filter((n) => !names.has(n));
  const missing = [...names].filter((n) => dict.state[n] === undefined);
  if (unexpected.length > 0 || missing.length > 0) {
    throw new Error(`${where}: missing state for [${missing.join(', ')}]; unexpected [${unexpected.join(', ')}]`);
  }
  for (const [name, p] of params) {
    const entry = dict.state[name] as ParamStateHost;
    if (entry.shape.length !== p.shape.length || entry.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`${where}: '${name}' has shape [${p.shape.join(', ')}] but state [${entry.shape.join(', ')}]`);
    }
    for (const b of bufferNames) {
      const data = entry.buffers[b];
      if (data === undefined || data.length !== p.size) {
        throw new Error(`${where}: '${name}' buffer '${b}' must have ${p.size} values, got ${data?.length ?? 'none'}`);
      }
    }
  }
}
