// A minimal protobuf wire-format reader and writer: just what `sentencepiece_model.proto` needs
// (varints, 32-bit floats, length-delimited strings/bytes/messages). Errors name the byte offset
// and the field path so a truncated or corrupted model says where it broke.

// ignoreBOM: a piece may be U+FEFF itself (LLaMA's vocabulary has one); never strip it.
const textDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const textEncoder = new TextEncoder();

/** Protobuf wire types used by SentencePiece's model format. */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;

/** One field tag read from the wire. */
export interface FieldTag {
  field: number;
  wireType: number;
  /** Absolute byte offset of the tag in the whole buffer. */
  offset: number;
}

/** Reads protobuf fields from `bytes[start, end)`; offsets in errors are absolute. */
export class ProtoReader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    readonly path: string,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  fail(what: string, offset = this.pos): never {
    throw new Error(`protobuf: ${what} at byte offset ${offset} (field path ${this.path})`);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  tag(): FieldTag {
    const offset = this.pos;
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) this.fail('invalid field number 0', offset);
    return { field, wireType, offset };
  }

  /** Reads an unsigned varint up to 2^53 (larger values lose precision but never throw). */
  varint(): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    return this.fail('varint longer than 10 bytes', start);
  }

  /** Reads an int32 varint: negative values are sign-extended to 10 bytes on the wire. */
  int32(): number {
    const start = this.pos;
    this.varint();
    // Re-read the low 32 bits exactly (doubles cannot hold a 64-bit two's complement value).
    let low = 0;
    for (let i = start, shift = 0; i < this.pos && shift < 32; i++, shift += 7) low |= (this.bytes[i]! & 0x7f) << shift;
    return low | 0;
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  float(): number {
    if (this.pos + 4 > this.end) this.fail('truncated 32-bit float');
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4);
    this.pos += 4;
    return view.getFloat32(0, true);
  }

  /** Returns `[start, end)` of a length-delimited payload and skips past it. */
  span(name?: string): [number, number] {
    const at = this.pos;
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) {
      const where = name ? ` in ${this.path}.${name}` : '';
      this.fail(`length-delimited field of ${len} bytes${where} runs past the end (${this.end}); file truncated?`, at);
    }
    this.pos = start + len;
    return [start, start + len];
  }

  bytesField(): Uint8Array {
    const [s, e] = this.span();
    return this.bytes.subarray(s, e);
  }

  string(): string {
    return textDecoder.decode(this.bytesField());
  }

  /** A reader over a nested message, with `name` appended to the field path. */
  message(name: string): ProtoReader {
    const [s, e] = this.span(name);
    return new ProtoReader(this.bytes, `${this.path}.${name}`, s, e);
  }

  skip(tag: FieldTag): void {
    switch (tag.wireType) {
      case WireType.varint:
        this.varint();
        return;
      case WireType.fixed64:
        if (this.pos + 8 > this.end) this.fail('truncated 64-bit field');
        this.pos += 8;
        return;
      case WireType.lengthDelimited:
        this.span();
        return;
      case WireType.fixed32:
        if (this.pos + 4 > this.end) this.fail('truncated 32-bit field');
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${tag.wireType} for field ${tag.field}`, tag.offset);
    }
  }

  expect(tag: FieldTag, wireType: number, name: string): void {
    if (tag.wireType !== wireType) {
      this.fail(`field ${name} (#${tag.field}) has wire type ${tag.wireType}, expected ${wireType}`, tag.offset);
    }
  }
}

/** Appends protobuf fields to a growable buffer. */
export class ProtoWriter {
  private buf = new Uint8Array(1024);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private rawVarint(v: number): void {
    this.ensure(10);
    if (v < 0) {
      // int32/int64 negatives are written as 10-byte two's complement varints.
      let lo = v >>> 0;
      let hi = 0xffffffff;
      for (let i = 0; i < 9; i++) {
        this.buf[this.len++] = (lo & 0x7f) | 0x80;
        lo = (lo >>> 7) | ((hi & 0x7f) << 25);
        hi >>>= 7;
      }
      this.buf[this.len++] = 1;
      return;
    }
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  private key(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  varint(field: number, v: number): this {
    this.key(field, WireType.varint);
    this.rawVarint(v);
    return this;
  }

  bool(field: number, v: boolean): this {
    return this.varint(field, v ? 1 : 0);
  }

  float(field: number, v: number): this {
    this.key(field, WireType.fixed32);
    this.ensure(4);
    new DataView(this.buf.buffer, this.len, 4).setFloat32(0, v, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, v: Uint8Array): this {
    this.key(field, WireType.lengthDelimited);
    this.rawVarint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }

  string(field: number, v: string): this {
    return this.bytes(field, textEncoder.encode(v));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
