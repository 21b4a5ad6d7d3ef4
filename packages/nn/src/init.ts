/**
 * Seeded weight initialisation. Every parameter draws from its own seed, derived from the model seed and the
 * parameter's name, so initial values do not depend on construction order and are identical on every backend
 * (the tensor package's generator is counter-based and backend independent).
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

/** A float32 tensor of the given shape drawn from normal(0, std²), seeded. */
export function normalInit(shape: readonly number[], std: number, seed: number): Tensor {
  return tidy(() => randn([...shape], { seed }).mul(std));
}
