/**
 * Who is being tuned for: the adapter's identity (the cache key), whether it is a CPU rasteriser, and the optional
 * features some kernel variants need.
 *
 * @module
 */

/** The adapter facts the tuner keys on and the variant spaces filter by. */
export interface AdapterProfile {
  vendor: string;
  architecture: string;
  device: string;
  /** Driver / description string (includes the driver version on Mesa and most Vulkan drivers). */
  description: string;
  /** A CPU rasteriser (lavapipe, SwiftShader): kernels without workgroup memory or barriers win there. */
  cpu: boolean;
  /** The device was created with the `subgroups` feature. */
  subgroups: boolean;
  /** The adapter's smallest subgroup size (`GPUAdapterInfo.subgroupMinSize`; absent: 4, WebGPU's floor). */
  subgroupMinSize?: number;
  /** The device was created with the `timestamp-query` feature. */
  timestampQuery: boolean;
  /**
   * Workgroup memory is shared between subgroups only in shaders that contain a barrier: SwiftShader runs a
   * barrier-free compute shader as independent 4-lane SIMD groups, each with its own copy (BENCHMARKS.md "Known
   * limits"), so kernels that share workgroup memory without a barrier must add one there.
   */
  sharedMemoryNeedsBarrier?: boolean;
  /** The adapter is SwiftShader (Chromium's fallback adapter): it gets kernels that compile quickly there. */
  swiftShader?: boolean;
}

/** Builds a profile from `GPUAdapterInfo` and the features enabled on the device. */
export function adapterProfile(
  info: Partial<GPUAdapterInfo> | undefined,
  features: ReadonlySet<string>,
): AdapterProfile {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const text = `${vendor} ${architecture} ${device} ${description}`;
  return {
    vendor,
    architecture,
    device,
    description,
    cpu: /llvmpipe|lavapipe|swiftshader|software/i.test(text),
    subgroups: features.has('subgroups'),
    subgroupMinSize: (info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize ?? 4,
    timestampQuery: features.has('timestamp-query'),
    sharedMemoryNeedsBarrier: /swiftshader/i.test(text),
    swiftShader: /swiftshader/i.test(text),
  };
}

/** The identity part of a profile, as stored in the cache file (features follow from it and are not keyed). */
export function adapterKey(p: AdapterProfile): {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
} {
  return { vendor: p.vendor, architecture: p.architecture, device: p.device, description: p.description };
}
