/**
 * float16 / bfloat16 storages on the CPU backend: their elements are raw bits in a Uint16Array, decoded to float32
 * on every read and rounded to nearest even on every write, through the one host codec in `formats/half-precision.ts`.
 *
 * @module
 */
import { type DType, isHalf, type View } from '../backend/backend.js';
import { decodeHalf, encodeHalf } from '../formats/half-precision.js';
import { isContiguous, sizeOf } from '../shape.js';
import { allocCpu, type CpuStorage, cpuStorage, forEachRow, markWritten, readView } from './storage.js';

/** The raw elements of any view in row-major order (bits for a half view); a zero-copy window when contiguous. */
function readRaw(view: View): Float32Array | Int32Array | Uint16Array {
  const s = cpuStorage(view.storage);
  if (!isHalf(s.dtype)) return readView(view);
  const n = sizeOf(view.shape);
  if (isContiguous(view)) return s.data.subarray(view.offset, view.offset + n);
  const src = s.data;
  const out = new Uint16Array(n);
  let o = 0;
  forEachRow(view.shape, view.strides, view.offset, (base, count, stride) => {
    for (let j = 0; j < count; j++) out[o++] = src[base + j * stride]!;
  });
  return out;
}

/** A view's values as float32 in row-major order, whatever its dtype (half bits decoded exactly). */
export function readFloat32(view: View): Float32Array {
  const raw = readRaw(view);
  const dtype = view.storage.dtype;
  if (isHalf(dtype)) return decodeHalf(dtype, raw);
  return raw instanceof Float32Array ? raw : Float32Array.from(raw);
}

/** The elements of `view` converted to `dtype`, row-major: bits for a half target, values otherwise. */
function convert(view: View, dtype: DType): Float32Array | Int32Array | Uint16Array {
  const from = view.storage.dtype;
  if (from === dtype) return readRaw(view);
  const values = readFloat32(view);
  if (isHalf(dtype)) return encodeHalf(dtype, values);
  if (dtype === 'int32') return Int32Array.from(values, Math.trunc);
  return values;
}

/** A contiguous copy of a view converted to `dtype` where either side is half. */
export function copyHalf(x: View, dtype: DType): CpuStorage {
  const data = convert(x, dtype);
  const out = allocCpu(dtype, data.length);
  out.data.set(data);
  return out;
}

/** Writes src (same dtype, or any float source rounded to the half dst) into the strided window dst. */
export function copyIntoHalf(dst: View, src: View): void {
  const d = cpuStorage(dst.storage);
  let bits = convert(src, d.dtype);
  // A window on the destination itself must be read before any of it is overwritten.
  if (src.storage === dst.storage && bits.buffer === d.data.buffer) bits = bits.slice();
  markWritten(d);
  if (isContiguous(dst)) {
    d.data.set(bits, dst.offset);
    return;
  }
  let i = 0;
  const D = d.data;
  forEachRow(dst.shape, dst.strides, dst.offset, (base, count, stride) => {
    for (let j = 0; j < count; j++) D[base + j * stride] = bits[i++]!;
  });
}
