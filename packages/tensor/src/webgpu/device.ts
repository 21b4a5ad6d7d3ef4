/**
 * Acquiring a WebGPU device: `navigator.gpu` in browsers, Dawn's `webgpu` package in Node.
 *
 * Everything downstream is written for the compatibility feature level (≤ 8 storage buffers per stage,
 * ≤ 128 invocations per workgroup, 16 KiB of workgroup memory), so a compatibility adapter is always acceptable.
 *
 * @module
 */

/** Options for acquiring a WebGPU device (`setBackend('webgpu', options)`). */
export interface WebGpuDeviceOptions {
  /** Adapter power preference hint. */
  powerPreference?: GPUPowerPreference;
  /** Use this GPU object instead of `navigator.gpu` / Dawn (tests, embedding). */
  gpu?: GPU;
  /**
   * Which adapter to ask for: `'core'` only, `'compatibility'` only (Chromium on lavapipe, older GPUs), or
   * by default core first, then compatibility.
   */
  featureLevel?: 'core' | 'compatibility';
}

/** A device together with the objects that must stay alive as long as it does. */
export interface AcquiredDevice {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** Dawn crashes when its GPU object is garbage-collected while a device lives, so the backend holds this. */
  gpu: GPU;
  /** Whether `shader-f16` was enabled on the device. */
  f16: boolean;
  /** Every optional feature enabled on the device. */
  features: Set<string>;
}

/** Optional features requested whenever the adapter offers them (kernel variants and the tuner's timer use them). */
const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

// Dawn's GPU object is process-wide: one per process is enough, and keeping it in module scope keeps it alive.
let nodeGpu: Promise<GPU> | undefined;

async function loadNodeGpu(): Promise<GPU> {
  // A variable specifier keeps bundlers (Vite, esbuild) from trying to resolve the native package for browsers.
  const specifier = 'webgpu';
  const mod = (await import(/* @vite-ignore */ specifier)) as {
    create: (flags: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, mod.globals);
  return mod.create([]);
}

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

/** Finds the platform's GPU object, or undefined when there is none. */
export async function findGpu(): Promise<GPU | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu && !isNode()) return nav.gpu;
  if (isNode()) {
    nodeGpu ??= loadNodeGpu();
    try {
      return await nodeGpu;
    } catch (err) {
      nodeGpu = undefined;
      throw new Error(`webgpu: cannot load the 'webgpu' package in Node: ${(err as Error).message}`);
    }
  }
  return nav?.gpu;
}

/** Requests an adapter (core first, then compatibility) and a device with the adapter's storage-buffer limits. */
export async function acquireDevice(options: WebGpuDeviceOptions = {}): Promise<AcquiredDevice> {
  const gpu = options.gpu ?? (await findGpu());
  if (!gpu) throw new Error('webgpu: no WebGPU implementation (navigator.gpu is undefined and Node has no webgpu)');
  const base: GPURequestAdapterOptions = options.powerPreference ? { powerPreference: options.powerPreference } : {};
  let adapter: GPUAdapter | null = null;
  if (options.featureLevel !== 'compatibility') {
    try {
      adapter = await gpu.requestAdapter(base);
    } catch {
      adapter = null;
    }
  }
  if (!adapter && options.featureLevel !== 'core') {
    try {
      adapter = await gpu.requestAdapter({ ...base, featureLevel: 'compatibility' } as GPURequestAdapterOptions);
    } catch {
      adapter = null;
    }
  }
  if (!adapter) throw new Error('webgpu: no WebGPU adapter available (requestAdapter returned null)');
  const f16 = adapter.features.has('shader-f16');
  const lim = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
    maxBufferSize: lim.maxBufferSize,
    maxStorageBuffersPerShaderStage: Math.min(8, lim.maxStorageBuffersPerShaderStage),
  };
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
  return { device, adapter, gpu, f16, features: new Set(features) };
}
