import type { ReduceOp, Storage, View } from '../backend/backend.js';
import { sizeOf } from '../shape.js';
import { allocCpu, readView } from './storage.js';

/**
 * Reduces `axes` of x. The view is permuted so kept axes come first and reduced axes last, then each contiguous block
 * of `inner` elements becomes one output. Sums accumulate in float64 (JS numbers): this is the reference.
 */
export function reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
  const reduced = new Set(axes);
  const order = [...x.shape.keys()].filter((d) => !reduced.has(d)).concat(axes);
  const permuted: View = {
    storage: x.storage,
    shape: order.map((d) => x.shape[d]!),
    strides: order.map((d) => x.strides[d]!),
    offset: x.offset,
  };
  const src = readView(permuted);
  const inner = sizeOf(axes.map((d) => x.shape[d]!));
  const outSize = sizeOf(x.shape.filter((_, d) => !reduced.has(d)));
  const outDtype = op === 'argmax' ? 'int32' : x.storage.dtype;
  const out = allocCpu(outDtype, outSize);
  const o = out.data;
  for (let r = 0; r < outSize; r++) {
    const base = r * inner;
    if (op === 'sum') {
      let s = 0;
      for (let j = 0; j < inner; j++) s += src[base + j]!;
      o[r] = s;
    } else if (op === 'max' || op === 'argmax') {
      let best = Number.NEGATIVE_INFINITY;
      let arg = 0;
      for (let j = 0; j < inner; j++) {
        const v = src[base + j]!;
        // NaN wins (propagates) like torch.max; first maximum wins ties.
        if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
          best = v;
          arg = j;
        }
      }
      o[r] = op === 'max' ? best : arg;
    } else {
      let best = Number.POSITIVE_INFINITY;
      for (let j = 0; j < inner; j++) {
        const v = src[base + j]!;
        if (v < best || (Number.isNaN(v) && !Number.isNaN(best))) best = v;
      }
      o[r] = best;
    }
  }
  return out;
}
