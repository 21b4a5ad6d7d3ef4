/**
 * The WebGPU side of `tune()`: finds the backend's switchboard and tunes the family problems of the shapes.
 *
 * @module
 */

import type { Backend } from '../../backend/backend.js';
import { WebGpuBackend } from '../backend.js';
import { switchboardOf, type TuneResult } from './switchboard.js';
import { familyProblems, type TuneShape } from './tune-shapes.js';

/** Tunes `shapes` on a WebGPU backend; throws a clear error for any other backend object. */
export async function tuneBackend(
  backend: Backend,
  shapes: readonly TuneShape[],
  force: boolean,
): Promise<TuneResult[]> {
  if (!(backend instanceof WebGpuBackend)) throw new Error(`tune: backend '${backend.name}' is not a WebGPU backend`);
  const board = switchboardOf(backend.rt);
  if (!board)
    throw new Error('tune: this WebGPU backend has no kernel switchboard (create it with createWebGpuBackend)');
  const problems = familyProblems(shapes);
  await backend.rt.sync();
  return board.tune(problems, { force });
}
