/**
 * The WebGPU execution layer: storages, one open command encoder per batch, per-dispatch uniforms, the pipeline cache.
 *
 * Ordering rules this file enforces (WebGPU runs `queue.writeBuffer` before any command buffer submitted later, even
 * if it was recorded earlier):
 * - uniforms live in a per-batch CPU array that is uploaded once, right before the batch is submitted;
 * - a storage written from the host while an unsubmitted dispatch references it forces a submit first;
 * - freed storages return to the pool only after the batch that last used them is submitted.
 *
 * @module
 */

import { type DType, type HalfDType, isHalf, type Storage } from '../backend/backend.js';
import { decodeHalf, encodeHalf } from '../formats/half-precision.js';
import { BufferPool } from './pool.js';

/** Words (u32) of uniform data each dispatch may use: 256 bytes, the default uniform offset alignment. */
export const UNIFORM_WORDS = 64;
/** Dispatches recorded before an automatic submit. */
export const MAX_DISPATCHES = 96;
/** Workgroups per grid dimension allowed on every adapter. */
const MAX_GROUPS = 65535;

/** WGSL shared by every kernel: the per-dispatch parameter block at binding 0 and its accessors. */
export const PRELUDE = /* wgsl */ `
@group(0) @binding(0) var<uniform> P: array<vec4<u32>, 16>;
fn pu(i: u32) -> u32 { return P[i >> 2u][i & 3u]; }
fn pi(i: u32) -> i32 { return bitcast<i32>(P[i >> 2u][i & 3u]); }
fn pf(i: u32) -> f32 { return bitcast<f32>(P[i >> 2u][i & 3u]); }
// Through a var so the bit pattern is not constant-folded (WGSL rejects non-finite constants).
fn inf_() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
fn nan_() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
`;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The bit pattern of `x` as a float32, for packing into a parameter block. */
export function f32bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** Bytes of the GPU buffer behind `size` elements of `dtype`: halves two per u32 word, rounded up to whole words. */
export function storageBytes(dtype: DType, size: number): number {
  return isHalf(dtype) ? Math.ceil(size / 2) * 4 : size * 4;
}

/** A WebGPU storage: one pooled GPU buffer. */
export class GpuStorage implements Storage {
  readonly backend = 'webgpu' as const;
  /** Id of the unsubmitted batch that last referenced this storage (-1: none). */
  batch = -1;
  freed = false;
  constructor(
    readonly dtype: DType,
    readonly size: number,
    readonly buffer: GPUBuffer,
  ) {}
}

/** Owns the device, the open encoder, uniform uploads, the pool and the pipeline cache. */
export class Runtime {
  readonly queue: GPUQueue;
  readonly pool: BufferPool;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchId = 0;
  private dispatches = 0;
  private readonly uniformCpu = new Uint32Array(UNIFORM_WORDS * MAX_DISPATCHES);
  private readonly uniformGpu: GPUBuffer;
  private pendingFree: GPUBuffer[] = [];
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private lost: string | null = null;
  private firstError: string | null = null;
  private destroyed = false;
  /** Number of pipelines compiled so far (tests check that new sizes do not compile new shaders). */
  compiled = 0;
  /** Whether the adapter is a CPU rasteriser (lavapipe, SwiftShader): kernels without workgroup memory win there. */
  cpuAdapter = false;
  /** Optional features enabled on the device (`subgroups`, `timestamp-query`, `shader-f16`). */
  features: ReadonlySet<string> = new Set();
  /**
   * The adapter's smallest subgroup size where subgroup kernels are offered (`AdapterProfile.subgroups`; 0 where
   * not): kernels that broadcast across lanes need that many.
   */
  subgroupMinSize = 0;
  /**
   * Whether float16 storages bind as native `array<f16>` (needs `shader-f16`); otherwise, and for bfloat16 always,
   * as packed u32 words. Same bytes either way, so it may change between dispatches (tests run both paths).
   */
  halfNative = false;
  /** Dispatches recorded since the runtime was created (benchmarks print dispatches per step from differences). */
  dispatchCount = 0;
  /** Run once at the next sync or read after it is set (the autotuner's deferred work); cleared before it runs. */
  idleHook: (() => Promise<void>) | null = null;
  private querySet: GPUQuerySet | null = null;
  private timing: { first: boolean } | null = null;

  constructor(
    readonly device: GPUDevice,
    /** Kept so the Dawn GPU object outlives the device. */
    readonly keepAlive: unknown,
  ) {
    this.queue = device.queue;
    this.pool = new BufferPool(device);
    this.uniformGpu = device.createBuffer({
      size: UNIFORM_WORDS * 4 * MAX_DISPATCHES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    void device.lost.then((info) => {
      if (!this.destroyed) this.lost = `${info.reason}: ${info.message}`;
    });
    const onError = (ev: Event) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.firstError ??= err?.message ?? String(err);
    };
    if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', onError);
    else (device as { onuncapturederror: unknown }).onuncapturederror = onError;
  }

  /** Throws when the device is gone or an earlier command failed validation. */
  check(op: string): void {
    if (this.destroyed) throw new Error(`webgpu.${op}: the backend was destroyed`);
    if (this.lost) throw new Error(`webgpu.${op}: the GPU device was lost (${this.lost})`);
    if (this.firstError) {
      const msg = this.firstError;
      this.firstError = null;
      throw new Error(`webgpu.${op}: an earlier GPU command failed: ${msg}`);
    }
  }

  /** A cached compute pipeline; `code` is only called the first time `key` is seen. */
  pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      // `enable` directives must precede every declaration, so they move above the prelude.
      const text = code();
      const enables = text.match(/^(\s*enable [a-z0-9_, ]+;\s*)+/)?.[0] ?? '';
      const module = this.device.createShaderModule({
        code: enables + PRELUDE + text.slice(enables.length),
        label: key,
      });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      this.pipelines.set(key, p);
      this.compiled++;
    }
    return p;
  }

  // ---- storages -----------------------------------------------------------------------------
  alloc(dtype: DType, size: number): GpuStorage {
    this.check('alloc');
    return new GpuStorage(dtype, size, this.pool.acquire(Math.max(4, storageBytes(dtype, size))));
  }

  free(s: GpuStorage): void {
    if (s.freed) throw new Error(`webgpu.free: storage of ${s.size} ${s.dtype} freed twice`);
    s.freed = true;
    if (this.destroyed) return;
    if (s.batch === this.batchId && this.encoder) this.pendingFree.push(s.buffer);
    else this.pool.release(s.buffer);
  }

  write(s: GpuStorage, data: Float32Array | Int32Array): void {
    this.check('write');
    if (data.length !== s.size) throw new Error(`webgpu.write: data has ${data.length} elements, storage ${s.size}`);
    if (s.batch === this.batchId && this.encoder) this.submit();
    let bytes: Float32Array | Int32Array | Uint16Array = data;
    if (isHalf(s.dtype)) {
      // Rounded on the host; an odd count gets a zero pad half so the upload is whole words.
      bytes = new Uint16Array(storageBytes(s.dtype, s.size) / 2);
      bytes.set(encodeHalf(s.dtype, data));
    }
    if (data.length > 0) this.queue.writeBuffer(s.buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async read(s: GpuStorage): Promise<Float32Array | Int32Array> {
    this.check('read');
    const bytes = storageBytes(s.dtype, s.size);
    const raw = s.dtype === 'int32' ? new Int32Array(s.size) : isHalf(s.dtype) ? new Uint16Array(bytes / 2) : null;
    const out = raw ?? new Float32Array(s.size);
    if (bytes === 0) return out instanceof Uint16Array ? new Float32Array(0) : out;
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.endPass();
    this.openEncoder().copyBufferToBuffer(s.buffer, 0, staging, 0, bytes);
    s.batch = this.batchId;
    this.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (err) {
      staging.destroy();
      this.check('read');
      throw new Error(`webgpu.read: mapping the staging buffer failed: ${(err as Error).message}`);
    }
    new Uint8Array(out.buffer).set(new Uint8Array(staging.getMappedRange(0, bytes)));
    staging.unmap();
    staging.destroy();
    this.check('read');
    await this.runIdleHook();
    if (out instanceof Uint16Array) return decodeHalf(s.dtype as HalfDType, out.subarray(0, s.size));
    return out;
  }

  // ---- recording ----------------------------------------------------------------------------
  private openEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /**
   * Records one dispatch. `storages` bind to @binding(1…) in order; `params` (u32 words) to the uniform block.
   * `groups` is a workgroup count (split over x and y when above 65535: kernels rebuild the linear id) or x, y, z.
   */
  dispatch(
    pipeline: GPUComputePipeline,
    storages: readonly GpuStorage[],
    params: ArrayLike<number>,
    groups: number | readonly [number, number, number],
  ): void {
    this.check('dispatch');
    if (params.length > UNIFORM_WORDS) throw new Error(`webgpu.dispatch: ${params.length} parameter words > 64`);
    const slot = this.dispatches;
    const base = slot * UNIFORM_WORDS;
    for (let i = 0; i < params.length; i++) this.uniformCpu[base + i] = params[i]!;
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.uniformGpu, offset: base * 4, size: UNIFORM_WORDS * 4 } },
    ];
    for (let i = 0; i < storages.length; i++) {
      const s = storages[i]!;
      if (s.freed) throw new Error(`webgpu.dispatch(${pipeline.label}): binding ${i + 1} uses a freed storage`);
      s.batch = this.batchId;
      entries.push({ binding: i + 1, resource: { buffer: s.buffer } });
    }
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    let x: number;
    let y: number;
    let z: number;
    if (typeof groups === 'number') {
      x = Math.min(groups, MAX_GROUPS);
      y = Math.ceil(groups / MAX_GROUPS);
      z = 1;
    } else [x, y, z] = groups;
    if (x * y * z === 0) return;
    if (y > MAX_GROUPS || z > MAX_GROUPS) throw new Error(`webgpu.dispatch(${pipeline.label}): grid too large`);
    if (!this.pass) this.pass = this.openEncoder().beginComputePass(this.passTimestamps());
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
    this.dispatchCount++;
    if (this.dispatches >= MAX_DISPATCHES) this.submit();
  }

  /** Records a buffer-to-buffer copy (bytes). */
  copy(src: GpuStorage, srcByte: number, dst: GpuStorage, dstByte: number, bytes: number): void {
    this.check('copy');
    if (bytes === 0) return;
    this.endPass();
    src.batch = this.batchId;
    dst.batch = this.batchId;
    this.openEncoder().copyBufferToBuffer(src.buffer, srcByte, dst.buffer, dstByte, bytes);
  }

  /** Uploads this batch's uniforms, submits the encoder and recycles the buffers it released. */
  submit(): void {
    if (this.destroyed || !this.encoder) return;
    this.endPass();
    if (this.dispatches > 0) {
      this.queue.writeBuffer(this.uniformGpu, 0, this.uniformCpu.buffer, 0, this.dispatches * UNIFORM_WORDS * 4);
    }
    this.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.dispatches = 0;
    this.batchId++;
    for (const b of this.pendingFree) this.pool.release(b);
    this.pendingFree = [];
  }

  async sync(): Promise<void> {
    this.check('sync');
    this.submit();
    await this.queue.onSubmittedWorkDone();
    this.check('sync');
    await this.runIdleHook();
  }

  /** Runs the deferred work queued for the next idle point (a sync or a read: the queue has just drained). */
  private async runIdleHook(): Promise<void> {
    const hook = this.idleHook;
    if (hook) {
      this.idleHook = null;
      await hook();
    }
  }

  /** Timestamp writes for a pass begun while {@link Runtime.timeGpu} records: start once, end on every pass. */
  private passTimestamps(): GPUComputePassDescriptor | undefined {
    if (!this.timing || !this.querySet) return undefined;
    const first = this.timing.first;
    this.timing.first = false;
    return {
      timestampWrites: {
        querySet: this.querySet,
        ...(first ? { beginningOfPassWriteIndex: 0 } : {}),
        endOfPassWriteIndex: 1,
      },
    };
  }

  /**
   * GPU milliseconds of the work `record` records, from timestamp queries (start of its first compute pass, end of
   * its last); undefined when the device lacks `timestamp-query`.
   */
  async timeGpu(record: () => void): Promise<number | undefined> {
    if (!this.features.has('timestamp-query')) return undefined;
    this.check('timeGpu');
    this.submit();
    this.querySet ??= this.device.createQuerySet({ type: 'timestamp', count: 2 });
    this.timing = { first: true };
    try {
      record();
    } finally {
      this.endPass();
      this.timing = null;
    }
    const resolve = this.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const staging = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.openEncoder();
    enc.resolveQuerySet(this.querySet, 0, 2, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, staging, 0, 16);
    this.submit();
    await staging.mapAsync(GPUMapMode.READ);
    const [t0, t1] = new BigUint64Array(staging.getMappedRange(0, 16).slice(0));
    staging.unmap();
    staging.destroy();
    resolve.destroy();
    this.check('timeGpu');
    return Number(t1! - t0!) / 1e6;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder = null;
    this.pass = null;
    this.pool.trim();
    this.querySet?.destroy();
    this.uniformGpu.destroy();
    this.device.destroy();
  }
}
