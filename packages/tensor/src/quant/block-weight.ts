/**
 * A weight matrix kept in a half-float or GGUF block-quantized format on its backend: the raw file bytes, decoded
 * only inside the matmul kernels. Inference only — no gradient, no elementwise ops; use it through
 * {@link blockLinear}. A Q4_0 weight takes 4.5 bits per element instead of float32's 32.
 *
 * @module
 */
import type { Backend, BlockType, Storage } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { dequantize } from '../formats/ggml-dequantize.js';
import { type GgmlWritableType, quantize } from '../formats/ggml-quantize.js';
import { ggmlBlockInfo, ggmlByteSize } from '../formats/ggml-types.js';
import { fmt } from '../shape.js';

/** Block formats {@link BlockWeight.quantize} can produce from float32 values (ggml's reference rounding). */
export type QuantizableBlockType = Extract<BlockType, GgmlWritableType>;

/** A weight `[out, in]` held as the bytes of a {@link BlockType} (rows of whole blocks along `in`). */
export class BlockWeight {
  private words: Storage | null;

  private constructor(
    readonly type: BlockType,
    readonly shape: readonly [outFeatures: number, inFeatures: number],
    readonly backend: Backend,
    storage: Storage,
    /** Bytes of the encoded weight (without the padding to a whole 32-bit word). */
    readonly byteLength: number,
  ) {
    this.words = storage;
  }

  /**
   * A block weight from raw ggml bytes (as a GGUF file stores the tensor, PyTorch's `[out, in]` row order).
   *
   * @throws Error naming the type and shape when `in` is not a whole number of blocks or the byte count differs.
   */
  static fromBytes(
    type: BlockType,
    shape: readonly [number, number],
    bytes: Uint8Array,
    backend: Backend = getBackend(),
  ): BlockWeight {
    const [out, inFeatures] = shape;
    const { blockSize } = ggmlBlockInfo(type);
    if (!Number.isInteger(out) || !Number.isInteger(inFeatures) || out < 0 || inFeatures < 0) {
      throw new Error(`BlockWeight ${type}: bad shape ${fmt(shape)}`);
    }
    if (inFeatures % blockSize !== 0) {
      throw new Error(
        `BlockWeight ${type}: in-features ${inFeatures} of ${fmt(shape)} are not a whole number of ${blockSize}-element blocks`,
      );
    }
    const need = ggmlByteSize(type, out * inFeatures);
    if (bytes.byteLength !== need) {
      throw new Error(`BlockWeight ${type} ${fmt(shape)}: needs ${need} bytes, got ${bytes.byteLength}`);
    }
    if (backend.packBlockWeight) {
      // WebGPU regroups the blocks into word-aligned sections (same bits per weight); bytes() undoes it exactly.
      return new BlockWeight(
        type,
        [out, inFeatures],
        backend,
        backend.packBlockWeight(type, out, inFeatures, bytes),
        need,
      );
    }
    // Words padded to a multiple of 4 bytes; the kernels read bytes by shift and mask. Word-aligned bytes are written
    // as they are: no host copy of a tensor that may be hundreds of MB (a 7B model's).
    let words: Int32Array;
    if (bytes.byteOffset % 4 === 0 && need % 4 === 0) {
      words = new Int32Array(bytes.buffer, bytes.byteOffset, need / 4);
    } else {
      words = new Int32Array(Math.ceil(need / 4));
      new Uint8Array(words.buffer).set(bytes);
    }
    const storage = backend.alloc('int32', words.length);
    backend.write(storage, words);
    backend.placeBlockWeight?.(storage);
    return new BlockWeight(type, [out, inFeatures], backend, storage, need);
  }

  /** Encodes float32 values `[out, in]` (row-major) as `type` with ggml's reference rounding. */
  static quantize(
    type: QuantizableBlockType,
    shape: readonly [number, number],
    values: Float32Array,
    backend: Backend = getBackend(),
  ): BlockWeight {
    if (values.length !== shape[0] * shape[1]) {
      throw new Error(`BlockWeight.quantize ${type}: ${values.length} values for shape ${fmt(shape)}`);
    }
    return BlockWeight.fromBytes(type, shape, quantize(type, values), backend);
  }

  /** The storage of the encoded bytes (int32 words) for the kernels. @throws Error once disposed. */
  get storage(): Storage {
    if (this.words === null) throw new Error(`BlockWeight ${this.type} ${fmt(this.shape)}: used after dispose()`);
    return this.words;
  }

  /** Whether {@link dispose} has run. */
  get disposed(): boolean {
    return this.words === null;
  }

  /** The weight's GGUF bytes, as {@link BlockWeight.fromBytes} took them (reads the device), e.g. for saving. */
  async bytes(): Promise<Uint8Array> {
    const [out, inFeatures] = this.shape;
    if (this.backend.unpackBlockWeight) return this.backend.unpackBlockWeight(this.storage, this.type, out, inFeatures);
    const words = (await this.backend.read(this.storage)) as Int32Array;
    return new Uint8Array(words.buffer, words.byteOffset, this.byteLength);
  }

  /** The weight decoded to float32 `[out, in]` with ggml's definitions (reads the device). */
  async dequantize(): Promise<Float32Array> {
    return dequantize(this.type, await this.bytes(), this.shape[0] * this.shape[1]);
  }

  /** Frees the device memory. Idempotent. */
  dispose(): void {
    if (this.words === null) return;
    this.backend.free(this.words);
    this.words = null;
  }
}
