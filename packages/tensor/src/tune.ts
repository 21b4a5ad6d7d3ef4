/**
 * `tune(shapes)`: pre-tunes the WebGPU kernels a model will use, so the first training or decode step already runs
 * the measured winners (without it, each new shape class is tuned at its first `sync()`).
 *
 * @module
 */

import type { Backend } from './backend/backend.js';
import { getBackend } from './backend/registry.js';
import type { TuneShape } from './webgpu/tuning/tune-shapes.js';

export type {
  AttentionShape,
  LinearPartsShape,
  MatmulShape,
  RowShape,
  TuneShape,
} from './webgpu/tuning/tune-shapes.js';

/** What tuning found for one kernel family and shape class. */
export interface TuneReport {
  family: string;
  shapeClass: string;
  /** Winning variant id. */
  winner: string;
  /** Median milliseconds per run of each candidate (empty when the winner came from the cache). */
  times: Record<string, number>;
  cached: boolean;
}

/** Options of {@link tune}. */
export interface TuneOptions {
  /** Backend to tune (default: the current one). CPU backends have nothing to tune and return []. */
  backend?: Backend;
  /** Re-time classes that already have a winner in memory or in the cache file. */
  force?: boolean;
}

/**
 * Times the candidate kernels of every shape class in `shapes` on the current WebGPU adapter and keeps the winners
 * in memory and in the tuning cache file (`ANDES_CACHE_DIR`). Runs even when `ANDES_TUNE=off` (an explicit request).
 */
export async function tune(shapes: readonly TuneShape[], options: TuneOptions = {}): Promise<TuneReport[]> {
  const backend = options.backend ?? getBackend();
  if (backend.name !== 'webgpu') return [];
  const { tuneBackend } = await import('./webgpu/tuning/tune-backend.js');
  return tuneBackend(backend, shapes, options.force ?? false);
}
