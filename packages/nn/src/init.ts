/**
 * Seeded weight initialisation by name. Every parameter draws from its own seed, derived from the model seed and the
 * parameter's Hugging Face name (`model.layers.3.mlp.up_proj.weight`), so initial values depend neither on
 * construction order nor on which other modules exist: adding a layer or an adapter never reseeds the others. The
 * tensor package's generator is counter-based, so the values are identical on every backend.
 *
 * Modules take a {@link ModuleInit} (the model seed and their own name) instead of seeds for their parameters, and hand
 * {@link childInit} to their children.
 *
 * @module
 */

import { randn, type Tensor, tidy } from '@andes/tensor';

/** A 32-bit seed for the parameter `name` of a model seeded with `seed` (FNV-1a of the name, mixed with the seed). */
export function parameterSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche so similar names give unrelated seeds.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** Where a module draws its initial values from: the model seed and the module's own dotted Hugging Face name. */
export interface ModuleInit {
  /** The model seed (default 0). */
  seed?: number;
  /** This module's name in the model, e.g. `model.layers.0.self_attn` (default `''`: a module on its own). */
  name?: string;
  /**
   * Leave large weights (linear and embedding matrices) unallocated, as PyTorch's `device='meta'` does: a model about
   * to load its weights from a file then never holds a second, random float32 copy of them (default false).
   */
  empty?: boolean;
}

/** What {@link childInit} hands a child: seed and name always set, `empty` passed down. */
export type ChildInit = Required<Pick<ModuleInit, 'seed' | 'name'>> & Pick<ModuleInit, 'empty'>;

/** The seed of parameter `param` (e.g. `'weight'`) of the module described by `init`. */
export function initSeed(init: ModuleInit, param: string): number {
  const name = init.name ?? '';
  return parameterSeed(init.seed ?? 0, name === '' ? param : `${name}.${param}`);
}

/** The {@link ModuleInit} of the child registered as `child` under the module described by `init`. */
export function childInit(init: ModuleInit, child: string): ChildInit {
  const name = init.name ?? '';
  const out: ChildInit = { seed: init.seed ?? 0, name: name === '' ? child : `${name}.${child}` };
  if (init.empty) out.empty = true;
  return out;
}

/** A float32 tensor of the given shape drawn from normal(0, std²), seeded. */
export function normalInit(shape: readonly number[], std: number, seed: number): Tensor {
  return tidy(() => randn([...shape], { seed }).mul(std));
}
