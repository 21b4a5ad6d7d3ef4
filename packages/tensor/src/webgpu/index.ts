/**
 * The WebGPU backend of `@andes/tensor`, loaded lazily by the backend registry.
 *
 * @module
 */

import type { Backend } from '../backend/backend.js';
import { WebGpuBackend } from './backend.js';
import { throttleDawnPolling } from './dawn-polling.js';
import { acquireDevice, type WebGpuDeviceOptions } from './device.js';
import { Runtime } from './runtime.js';
import { adapterProfile } from './tuning/adapter.js';
import { blockMatmulFamily } from './tuning/block-family.js';
import { KERNEL_FAMILIES } from './tuning/families.js';
import { attachSwitchboard, Switchboard, type TuneMode } from './tuning/switchboard.js';
import type { KernelTimer } from './tuning/timer.js';
import { andesVersion } from './tuning/tuning-cache.js';

export { WebGpuBackend } from './backend.js';
export type { WebGpuDeviceOptions } from './device.js';

/** Options of {@link createWebGpuBackend}: the device, plus how kernels are chosen. */
export interface WebGpuBackendOptions extends WebGpuDeviceOptions {
  /** Autotuning mode (default: `ANDES_TUNE`, on unless `off`). */
  tune?: TuneMode;
  /** Timing method of the tuner (tests pass a fake clock). */
  timer?: KernelTimer;
  /** Read and write the tuning cache file (default true). */
  persistTuning?: boolean;
  /** Andes version used as the cache key (default: this package's version). */
  andesVersion?: string;
  /**
   * How float16 storages bind in shaders: `auto` (native `f16` where the device has `shader-f16`, packed u32 words
   * elsewhere) or `packed` always (default: `ANDES_WEBGPU_HALF`, else auto). bfloat16 is always packed.
   */
  halfStorage?: 'auto' | 'packed';
}

/**
 * Creates a WebGPU backend on `navigator.gpu` (browsers) or Dawn's `webgpu` package (Node).
 * Rejects with an Error naming the cause when no adapter or device is available.
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<Backend> {
  const acquired = await acquireDevice(options);
  const rt = new Runtime(acquired.device, acquired.gpu);
  const profile = adapterProfile(acquired.adapter.info as GPUAdapterInfo | undefined, acquired.features);
  rt.cpuAdapter = profile.cpu;
  // Dawn's busy wait would take a core from the adapter's own threads (dawn-polling.ts).
  if (profile.cpu) throttleDawnPolling();
  rt.features = acquired.features;
  rt.subgroupMinSize = profile.subgroups ? (profile.subgroupMinSize ?? 4) : 0;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const halfStorage = options.halfStorage ?? (env?.ANDES_WEBGPU_HALF === 'packed' ? 'packed' : 'auto');
  rt.halfNative = acquired.f16 && halfStorage !== 'packed';
  const board = new Switchboard(rt, profile, [...KERNEL_FAMILIES, blockMatmulFamily], {
    andes: options.andesVersion ?? (await andesVersion()),
    ...(options.tune ? { mode: options.tune } : {}),
    ...(options.timer ? { timer: options.timer } : {}),
    ...(options.persistTuning === false ? { persist: false } : {}),
  });
  attachSwitchboard(rt, board);
  if (board.mode === 'on') await board.load();
  return new WebGpuBackend(rt);
}
