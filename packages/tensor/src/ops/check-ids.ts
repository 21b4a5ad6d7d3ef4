import { CpuStorage, readView } from '../cpu/storage.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';

/**
 * The values of an int32 tensor when they are known on the host without a device readback: always on the CPU backend,
 * and on other backends for tensors created from host data. Null otherwise (the check is then skipped).
 */
export function hostInts(t: Tensor): Int32Array | Float32Array | null {
  if (t.storage instanceof CpuStorage) return readView(t);
  const host = t.storageRef.hostInts;
  if (!host) return null;
  return readView({ storage: new CpuStorage('int32', host), shape: t.shape, strides: t.strides, offset: t.offset });
}

/** Throws naming `op` when an id is outside [0, limit) (ids equal to `allowed` pass, e.g. an ignore index). */
export function checkIds(op: string, ids: Tensor, limit: number, what: string, allowed?: number): void {
  const values = hostInts(ids);
  if (!values) return;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if ((v < 0 || v >= limit) && v !== allowed) {
      throw new Error(
        `${op}: ${what} ${v} at flat index ${i} of ${fmt(ids.shape)} is out of range [0, ${limit})` +
          (allowed !== undefined ? ` (ignoreIndex ${allowed} is allowed)` : ''),
      );
    }
  }
}
