import { bfloat16ArrayToFloat32, float16ArrayToFloat32 } from '@andes/tensor';
import {
  type HostTensor,
  type HostTypedArray,
  isSafetensorsDtype,
  type SafetensorsDtype,
  tensorBytes,
  typedView,
} from './dtypes.js';

/** The part of an `@andes/tensor` `Tensor` needed to save it: shape, dtype and an async read-back. */
export interface TensorLike {
  /** Dimensions. */
  readonly shape: readonly number[];
  /** `float32` or `int32`. */
  readonly dtype: string;
  /** Copies the values to the host. */
  data(): Promise<Float32Array | Int32Array | ArrayLike<number>>;
}

/** Host data with a shape and no dtype: the dtype follows from the typed array (Float32Array → F32, …). */
export interface ShapedArray {
  /** Dimensions. */
  readonly shape: readonly number[];
  /** Row-major values. */
  readonly data:
    | Float32Array
    | Float64Array
    | Int32Array
    | Int16Array
    | Int8Array
    | Uint8Array
    | Uint16Array
    | Uint32Array;
}

/** Anything a tensor to be saved may be given as. */
export type SavableTensor = TensorLike | HostTensor | ShapedArray;

/** Named tensors to save: a `Map` (e.g. `model.stateDict()`) or a plain object. */
export type NamedTensors = ReadonlyMap<string, SavableTensor> | Readonly<Record<string, SavableTensor>>;

function dtypeOfArray(data: ShapedArray['data'], name: string): SafetensorsDtype {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Int16Array) return 'I16';
  if (data instanceof Int8Array) return 'I8';
  if (data instanceof Uint8Array) return 'U8';
  if (data instanceof Uint16Array) return 'U16';
  if (data instanceof Uint32Array) return 'U32';
  throw new Error(`tensor ${JSON.stringify(name)}: unsupported data type ${Object.prototype.toString.call(data)}`);
}

/**
 * Brings named tensors to the host as {@link HostTensor}s: device tensors are read with
 * `await t.data()` (float32 → F32, int32 → I32), host entries are taken as they are.
 */
export async function toHostTensors(tensors: NamedTensors): Promise<Map<string, HostTensor>> {
  const entries =
    tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, SavableTensor>);
  const out = new Map<string, HostTensor>();
  for (const [name, t] of entries) {
    if (typeof (t as TensorLike).data === 'function') {
      const like = t as TensorLike;
      const values = await like.data();
      const shape = [...like.shape];
      if (like.dtype === 'float32')
        out.set(name, { dtype: 'F32', shape, data: Float32Array.from(values as ArrayLike<number>) });
      else if (like.dtype === 'int32')
        out.set(name, { dtype: 'I32', shape, data: Int32Array.from(values as ArrayLike<number>) });
      else throw new Error(`tensor ${JSON.stringify(name)}: cannot save dtype ${like.dtype}`);
    } else if (isSafetensorsDtype((t as HostTensor).dtype)) {
      const h = t as HostTensor;
      out.set(name, { dtype: h.dtype, shape: [...h.shape], data: h.data });
    } else {
      const s = t as ShapedArray;
      out.set(name, { dtype: dtypeOfArray(s.data, name), shape: [...s.shape], data: s.data });
    }
  }
  return out;
}

/** The values of a floating-point or integer host tensor as float32 (F16/BF16 decoded exactly). */
export function hostTensorToFloat32(t: HostTensor, name = 'tensor'): Float32Array {
  const d: HostTypedArray = t.data;
  switch (t.dtype) {
    case 'F32':
      return d instanceof Float32Array
        ? d
        : new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
    case 'F16':
      return float16ArrayToFloat32(typedView('F16', tensorBytes(t)) as Uint16Array);
    case 'BF16':
      return bfloat16ArrayToFloat32(typedView('BF16', tensorBytes(t)) as Uint16Array);
    case 'I64':
    case 'U64':
      return Float32Array.from(d as BigInt64Array, (x) => Number(x));
    default:
      if (d instanceof Uint8Array && t.dtype !== 'U8' && t.dtype !== 'BOOL') {
        throw new Error(`${name}: ${t.dtype} data given as raw bytes; decode it first`);
      }
      return Float32Array.from(d as ArrayLike<number>);
  }
}
