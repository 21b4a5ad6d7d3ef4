/**
 * GGUF metadata values (the spec's `gguf_metadata_value_type`): decoding from and encoding to little-endian bytes.
 * Pure functions over typed arrays, browser-safe; the file reader and writer sit on top.
 *
 * @module
 */

/** The scalar and array value types of GGUF metadata, by their spec numbers (UINT8 = 0 … FLOAT64 = 12). */
export const GgufValueType = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

/** Name of a GGUF value type. */
export type GgufValueTypeName = keyof typeof GgufValueType;

/** A number-valued GGUF type (JS number; 64-bit integers are `bigint`, see {@link GgufValue}). */
export type GgufNumberType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';

/** One element of a GGUF array. */
export type GgufArrayItem = number | bigint | boolean | string | GgufArray;

/** A GGUF array: its element type and elements (nested arrays are {@link GgufArray}s themselves). */
export interface GgufArray {
  /** Always `array`. */
  type: 'array';
  /** Element type. */
  itemType: GgufValueTypeName;
  /** Elements: numbers, `bigint` for u64/i64, booleans, strings or arrays. */
  value: GgufArrayItem[];
}

/** A typed GGUF metadata value. */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: 'u64' | 'i64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | GgufArray;

const typeNames = Object.keys(GgufValueType) as GgufValueTypeName[];

/** Thrown by {@link ByteCursor} when the bytes end before the value does; a file reader then reads more. */
export class OutOfBytesError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads little-endian GGUF primitives from bytes, tracking the position for error messages. */
export class ByteCursor {
  /** Current byte position. */
  pos = 0;
  private readonly view: DataView;

  /** @param bytes - the bytes to read; @param label - file name for errors */
  constructor(
    readonly bytes: Uint8Array,
    readonly label: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.bytes.byteLength) throw new OutOfBytesError(`${this.label}: needs bytes past ${at + n}`);
    this.pos += n;
    return at;
  }

  /** A u32. */
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  /**
   * A u64 as a JS number.
   *
   * @throws Error when it exceeds 2^53 (no GGUF count or offset does in practice).
   */
  u64(what: string): number {
    const at = this.pos;
    const v = this.view.getBigUint64(this.need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${this.label}: ${what} ${v} at byte ${at} is too large`);
    return Number(v);
  }

  /** A GGUF string: u64 byte length, then UTF-8. */
  string(what: string): string {
    const start = this.pos;
    const n = this.u64(`${what} length`);
    const at = this.need(n);
    try {
      return utf8.decode(this.bytes.subarray(at, at + n));
    } catch {
      throw new Error(`${this.label}: ${what} at byte ${start} is not valid UTF-8`);
    }
  }

  /** A value of the given type number. */
  value(typeId: number, what: string): GgufValue {
    const type = typeNames[typeId];
    const v = this.view;
    switch (type) {
      case 'u8':
        return { type, value: v.getUint8(this.need(1)) };
      case 'i8':
        return { type, value: v.getInt8(this.need(1)) };
      case 'u16':
        return { type, value: v.getUint16(this.need(2), true) };
      case 'i16':
        return { type, value: v.getInt16(this.need(2), true) };
      case 'u32':
        return { type, value: v.getUint32(this.need(4), true) };
      case 'i32':
        return { type, value: v.getInt32(this.need(4), true) };
      case 'f32':
        return { type, value: v.getFloat32(this.need(4), true) };
      case 'f64':
        return { type, value: v.getFloat64(this.need(8), true) };
      case 'u64':
        return { type, value: v.getBigUint64(this.need(8), true) };
      case 'i64':
        return { type, value: v.getBigInt64(this.need(8), true) };
      case 'bool': {
        const at = this.pos;
        const b = v.getUint8(this.need(1));
        if (b > 1) throw new Error(`${this.label}: ${what}: bool at byte ${at} is ${b}, not 0 or 1`);
        return { type, value: b === 1 };
      }
      case 'string':
        return { type, value: this.string(what) };
      case 'array': {
        const itemId = this.u32();
        const itemType = typeNames[itemId];
        if (itemType === undefined) throw new Error(`${this.label}: ${what}: unknown array element type ${itemId}`);
        const n = this.u64(`${what} array length`);
        const value: GgufArrayItem[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const item = this.value(itemId, `${what}[${i}]`);
          value[i] = item.type === 'array' ? item : item.value;
        }
        return { type, itemType, value };
      }
      default:
        throw new Error(`${this.label}: ${what}: unknown metadata value type ${typeId} at byte ${this.pos - 4}`);
    }
  }
}

/** Appends little-endian GGUF primitives to a growing byte buffer. */
export class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  /** Bytes written so far. */
  length = 0;

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  /** A u32. */
  u32(x: number): void {
    const at = this.room(4); // room() may replace the buffer: take the view after it
    this.view.setUint32(at, x, true);
  }

  /** A u64 (from a safe integer or a bigint). */
  u64(x: number | bigint): void {
    const at = this.room(8);
    this.view.setBigUint64(at, BigInt(x), true);
  }

  /** A GGUF string: u64 byte length then UTF-8. */
  string(s: string): void {
    const bytes = new TextEncoder().encode(s);
    this.u64(bytes.length);
    const at = this.room(bytes.length);
    this.buf.set(bytes, at);
  }

  /** Zero bytes up to a multiple of `alignment`. */
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    const at = this.room(n);
    this.buf.fill(0, at, this.length);
  }

  /** A typed value (without its type tag). */
  value(type: GgufValueTypeName, x: GgufArrayItem, what: string): void {
    const bad = () => new Error(`GGUF metadata ${what}: ${String(x)} is not a valid ${type}`);
    const num = (lo: number, hi: number, int: boolean): number => {
      if (typeof x !== 'number' || (int && !Number.isInteger(x)) || x < lo || x > hi) throw bad();
      return x;
    };
    // Validate, reserve the bytes (room() may replace the buffer), then write through the current view.
    const put = (n: number, write: (view: DataView, at: number) => void) => {
      const at = this.room(n);
      write(this.view, at);
    };
    switch (type) {
      case 'u8': {
        const value = num(0, 255, true);
        put(1, (v, at) => v.setUint8(at, value));
        return;
      }
      case 'i8': {
        const value = num(-128, 127, true);
        put(1, (v, at) => v.setInt8(at, value));
        return;
      }
      case 'u16': {
        const value = num(0, 65535, true);
        put(2, (v, at) => v.setUint16(at, value, true));
        return;
      }
      case 'i16': {
        const value = num(-32768, 32767, true);
        put(2, (v, at) => v.setInt16(at, value, true));
        return;
      }
      case 'u32': {
        const value = num(0, 2 ** 32 - 1, true);
        put(4, (v, at) => v.setUint32(at, value, true));
        return;
      }
      case 'i32': {
        const value = num(-(2 ** 31), 2 ** 31 - 1, true);
        put(4, (v, at) => v.setInt32(at, value, true));
        return;
      }
      case 'f32': {
        const value = num(-Infinity, Infinity, false);
        put(4, (v, at) => v.setFloat32(at, value, true));
        return;
      }
      case 'f64': {
        const value = num(-Infinity, Infinity, false);
        put(8, (v, at) => v.setFloat64(at, value, true));
        return;
      }
      case 'u64':
      case 'i64': {
        if (typeof x !== 'bigint' && !(typeof x === 'number' && Number.isSafeInteger(x))) throw bad();
        const big = BigInt(x as number | bigint);
        if (type === 'u64' ? big < 0n || big >= 1n << 64n : big < -(1n << 63n) || big >= 1n << 63n) throw bad();
        put(8, (v, at) => (type === 'u64' ? v.setBigUint64(at, big, true) : v.setBigInt64(at, big, true)));
        return;
      }
      case 'bool': {
        if (typeof x !== 'boolean') throw bad();
        const value = x ? 1 : 0;
        put(1, (v, at) => v.setUint8(at, value));
        return;
      }
      case 'string':
        if (typeof x !== 'string') throw bad();
        this.string(x);
        return;
      case 'array': {
        const a = x as GgufArray;
        if (typeof a !== 'object' || a === null || a.type !== 'array' || !Array.isArray(a.value)) throw bad();
        this.u32(GgufValueType[a.itemType]);
        this.u64(a.value.length);
        for (const [i, item] of a.value.entries()) this.value(a.itemType, item, `${what}[${i}]`);
      }
    }
  }

  /** The bytes written. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
