/**
 * Picking the compute backend for the page: WebGPU on `navigator.gpu` at the core or compatibility feature level,
 * else the CPU (WebAssembly SIMD) backend, with the reason shown on screen. `?backend=cpu` and
 * `?level=core|compatibility` in the page's URL force a choice (the browser tests run each level).
 *
 * @module
 */
import { setBackend } from '@andes/tensor';

/** What the page runs on, in words for the status line. */
export interface BackendInfo {
  backend: 'webgpu' | 'cpu';
  /** The feature level asked for, when WebGPU. */
  level?: 'core' | 'compatibility' | 'auto';
  /** One line for the page. */
  description: string;
}

async function adapterName(level: 'core' | 'compatibility' | 'auto'): Promise<string> {
  const gpu = navigator.gpu;
  const opts = level === 'compatibility' ? ({ featureLevel: 'compatibility' } as GPURequestAdapterOptions) : {};
  const adapter = await gpu?.requestAdapter(opts).catch(() => null);
  const info = adapter?.info;
  return info
    ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') ||
        'an adapter the browser does not name'
    : '';
}

/** Chooses and sets the backend from the URL's `backend` and `level` parameters. */
export async function chooseBackend(params: URLSearchParams): Promise<BackendInfo> {
  if (params.get('backend') === 'cpu') {
    await setBackend('cpu');
    return { backend: 'cpu', description: 'CPU backend (WebAssembly SIMD), as asked by ?backend=cpu' };
  }
  const asked = params.get('level');
  const level = asked === 'core' || asked === 'compatibility' ? asked : 'auto';
  if (!navigator.gpu) {
    await setBackend('cpu');
    return { backend: 'cpu', description: 'CPU backend (WebAssembly SIMD): this browser has no navigator.gpu' };
  }
  try {
    await setBackend('webgpu', level === 'auto' ? {} : { featureLevel: level });
    const name = await adapterName(level);
    return { backend: 'webgpu', level, description: `WebGPU (${level} feature level) on ${name || 'the GPU'}` };
  } catch (e) {
    await setBackend('cpu');
    return {
      backend: 'cpu',
      description: `CPU backend (WebAssembly SIMD): no WebGPU adapter (${(e as Error).message})`,
    };
  }
}
