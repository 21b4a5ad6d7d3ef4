/**
 * The contract of a tunable kernel family: a space of named variants, a shape class that decides which problems
 * share a winner, the candidates worth timing on an adapter, a fixed default, and a way to run one representative
 * problem with a chosen variant.
 *
 * @module
 */

import type { Runtime } from '../runtime.js';
import type { AdapterProfile } from './adapter.js';

/** Inputs of a representative problem, allocated once and run with each candidate in turn. */
export interface PreparedProblem {
  /** Records the op once (with whichever variant is pinned on the switchboard). */
  run(): void;
  /** Frees the inputs and any outputs still held. */
  dispose(): void;
}

/** A kernel family with a variant space. `P` is the family's problem description (shapes and layouts). */
export interface KernelFamily<P = unknown> {
  /** Stable family name (part of the cache key). */
  readonly name: string;
  /** Variant id → configuration. Ids are stable: cache files store them. */
  readonly variants: Readonly<Record<string, unknown>>;
  /** Problems with the same class share one tuned winner (e.g. size buckets and operand layouts). */
  shapeClass(p: P): string;
  /** Variant ids that apply to this problem on this adapter (the tuner times each; the first is the default). */
  candidates(a: AdapterProfile, p: P): string[];
  /** The variant used when tuning is off or has not happened yet (`ANDES_TUNE=off`: fixed per-adapter defaults). */
  fallback(a: AdapterProfile, p: P): string;
  /** Allocates inputs for `p` on the runtime. */
  prepare(rt: Runtime, p: P): PreparedProblem;
}
