/** Element types of the safetensors format (its spelling). */
export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

/** Typed arrays a host tensor's data may be given as (F16/BF16 as raw `Uint16Array` bits). */
export type HostTypedArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array;

/**
 * A tensor in host memory: dtype, row-major shape and data. `data` is either the raw little-endian
 * bytes (`Uint8Array` of `size · itemsize` bytes) or the natural typed array of the dtype
 * (F16/BF16: `Uint16Array` of bit patterns; BOOL: `Uint8Array` of 0/1; I64/U64: BigInt arrays).
 */
export interface HostTensor {
  /** Element type. */
  dtype: SafetensorsDtype;
  /** Dimensions, row-major; `[]` is a scalar. */
  shape: number[];
  /** Elements (typed array) or raw bytes. */
  data: HostTypedArray;
}

interface DtypeInfo {
  bytes: number;
  array: new (buffer: ArrayBuffer, byteOffset: number, length: number) => HostTypedArray;
}

const info: Record<SafetensorsDtype, DtypeInfo> = {
  F64: { bytes: 8, array: Float64Array },
  F32: { bytes: 4, array: Float32Array },
  F16: { bytes: 2, array: Uint16Array },
  BF16: { bytes: 2, array: Uint16Array },
  I64: { bytes: 8, array: BigInt64Array },
  I32: { bytes: 4, array: Int32Array },
  I16: { bytes: 2, array: Int16Array },
  I8: { bytes: 1, array: Int8Array },
  U64: { bytes: 8, array: BigUint64Array },
  U32: { bytes: 4, array: Uint32Array },
  U16: { bytes: 2, array: Uint16Array },
  U8: { bytes: 1, array: Uint8Array },
  BOOL: { bytes: 1, array: Uint8Array },
};

// safetensors is little-endian and typed arrays use the platform's order; every platform Node and
// browsers run on today is little-endian, so refuse loudly rather than silently swap bytes.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('@andes/checkpoint: big-endian platforms are not supported (safetensors is little-endian)');
}

/** Whether `x` is one of the dtype names of the safetensors spec. */
export function isSafetensorsDtype(x: unknown): x is SafetensorsDtype {
  return typeof x === 'string' && Object.hasOwn(info, x);
}

/** Bytes per element of `dtype`. */
export function dtypeSize(dtype: SafetensorsDtype): number {
  return info[dtype].bytes;
}

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The raw bytes of a host tensor's data (a view, no copy). */
export function tensorBytes(t: HostTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/**
 * A typed-array view of `dtype` over `bytes` (copied first when the bytes are not aligned to the
 * element size, which the spec allows though writers avoid it).
 */
export function typedView(dtype: SafetensorsDtype, bytes: Uint8Array): HostTypedArray {
  const { bytes: size, array } = info[dtype];
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return new array(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / size);
}
