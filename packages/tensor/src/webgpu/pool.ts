/**
 * A size-bucketed pool of storage buffers. Buckets are powers of two split in quarters (…, 1024, 1280, 1536, 1792,
 * 2048, …), so at most ~25 % of a buffer is slack and a freed buffer fits the next request of similar size.
 *
 * @module
 */

const MIN_BYTES = 256;

/** The bucket (allocated byte size) a request of `bytes` lands in. */
export function bucketBytes(bytes: number): number {
  if (bytes <= MIN_BYTES) return MIN_BYTES;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  if (pow === bytes) return bytes;
  const quarter = pow / 4;
  return pow + Math.ceil((bytes - pow) / quarter) * quarter;
}

/** Usage flags of every pooled storage buffer. */
export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/** Reuses GPU buffers by bucket; counts bytes in use and parked. */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  bytesInUse = 0;
  bytesPooled = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Parked bytes above this are destroyed instead of pooled. */
    private readonly maxPooledBytes = 2 ** 31,
  ) {}

  /** A buffer of at least `bytes` bytes (its size is the bucket). */
  acquire(bytes: number): GPUBuffer {
    const size = bucketBytes(bytes);
    const list = this.free.get(size);
    this.bytesInUse += size;
    const reused = list?.pop();
    if (reused) {
      this.bytesPooled -= size;
      return reused;
    }
    return this.device.createBuffer({ size, usage: STORAGE_USAGE });
  }

  /** Parks a buffer for reuse. Callers guarantee no unsubmitted command uses it any more. */
  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.bytesInUse -= size;
    if (this.bytesPooled + size > this.maxPooledBytes) {
      buffer.destroy();
      return;
    }
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buffer);
    this.bytesPooled += size;
  }

  /** Destroys every parked buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.bytesPooled = 0;
  }
}
