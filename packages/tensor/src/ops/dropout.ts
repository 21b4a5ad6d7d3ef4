import { nextRandom } from '../random/generator.js';
import { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { ge } from './compare.js';
import { backendOf, requireDtype } from './inputs.js';
import { mul } from './mul.js';
import { reshape } from './reshape.js';

/** Options of {@link dropout}. */
export interface DropoutOptions {
  /** When false, dropout is the identity. Default true. */
  training?: boolean;
  /** Explicit Philox seed for the mask; by default the global generator advances. */
  seed?: number;
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1−p). The mask is element i kept iff
 * uniform(seed, offset + i) ≥ p, so it is identical on every backend.
 */
export function dropout(x: Tensor, p: number, options: DropoutOptions = {}): Tensor {
  const backend = backendOf('dropout', x);
  requireDtype('dropout', x, 'float32');
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: p must be in [0, 1], got ${p}`);
  const { training = true } = options;
  if (!training || p === 0) return reshape(x, x.shape);
  const { seed, offset } = nextRandom(x.size, options.seed);
  return tidy(() => {
    const u = Tensor.fromStorage(backend.random('uniform', x.size, seed, offset), backend, x.shape);
    const keepMask = ge(u, p);
    return p === 1 ? mul(x, 0) : mul(x, mul(keepMask, 1 / (1 - p)));
  });
}
