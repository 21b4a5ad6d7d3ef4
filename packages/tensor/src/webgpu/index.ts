/**
 * The WebGPU backend of `@andes/tensor`, loaded lazily by the backend registry.
 *
 * @module
 */

import type { Backend } from '../backend/backend.js';
import { WebGpuBackend } from './backend.js';
import { acquireDevice, type WebGpuDeviceOptions } from './device.js';
import { Runtime } from './runtime.js';

export { WebGpuBackend } from './backend.js';
export type { WebGpuDeviceOptions } from './device.js';

/**
 * Creates a WebGPU backend on `navigator.gpu` (browsers) or Dawn's `webgpu` package (Node).
 * Rejects with an Error naming the cause when no adapter or device is available.
 */
export async function createWebGpuBackend(options: WebGpuDeviceOptions = {}): Promise<Backend> {
  const acquired = await acquireDevice(options);
  const rt = new Runtime(acquired.device, acquired.gpu);
  const info = acquired.adapter.info as GPUAdapterInfo | undefined;
  const text = `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.device ?? ''} ${info?.description ?? ''}`;
  rt.cpuAdapter = /llvmpipe|lavapipe|swiftshader|software/i.test(text);
  return new WebGpuBackend(rt);
}
