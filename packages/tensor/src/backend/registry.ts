/**
 * Choosing the compute backend. 'cpu' is built in; 'webgpu' is loaded on demand from `../webgpu/index.js`, so
 * programs that never ask for it never load Dawn.
 *
 * @module
 */
import { createCpuBackend } from '../cpu/index.js';
import type { WebGpuDeviceOptions } from '../webgpu/device.js';
import type { Backend, BackendName } from './backend.js';

let current: Backend | null = null;
const created = new Map<BackendName, Backend>();
let warned = false;

function env(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

const pending = new Map<BackendName, Promise<Backend>>();

/** One backend per name: concurrent first calls share one creation (one device); a failed creation can be retried. */
function create(name: BackendName, options: WebGpuDeviceOptions): Promise<Backend> {
  const existing = created.get(name);
  if (existing) return Promise.resolve(existing);
  let p = pending.get(name);
  if (!p) {
    p = createNew(name, options).finally(() => pending.delete(name));
    pending.set(name, p);
  }
  return p;
}

async function createNew(name: BackendName, options: WebGpuDeviceOptions): Promise<Backend> {
  let backend: Backend;
  if (name === 'cpu') {
    backend = createCpuBackend();
  } else if (name === 'webgpu') {
    // A literal dynamic import: bundlers split the WebGPU code into its own chunk, and CPU-only programs never load
    // it (nor Dawn).
    let mod: { createWebGpuBackend?: (options: WebGpuDeviceOptions) => Promise<Backend> };
    try {
      mod = await import('../webgpu/index.js');
    } catch (e) {
      throw new Error(`setBackend('webgpu'): the WebGPU backend module could not be loaded: ${(e as Error).message}`);
    }
    if (typeof mod.createWebGpuBackend !== 'function') {
      throw new Error(`setBackend('webgpu'): webgpu/index.js does not export createWebGpuBackend()`);
    }
    try {
      backend = await mod.createWebGpuBackend(options);
    } catch (e) {
      throw new Error(`setBackend('webgpu'): WebGPU is unavailable: ${(e as Error).message}`);
    }
  } else {
    throw new Error(`setBackend: unknown backend '${name}' (expected 'webgpu' or 'cpu')`);
  }
  created.set(name, backend);
  return backend;
}

/**
 * Makes `name` the backend for new tensors. Rejects with an Error naming the reason when it is unavailable
 * (for 'webgpu': no adapter, or the backend module missing). Existing tensors stay on their backend; mixing
 * tensors of two backends in one op throws. `options` (e.g. `{ featureLevel: 'compatibility' }`) apply when the
 * WebGPU backend is first created; later calls reuse it.
 */
export async function setBackend(name: BackendName, options: WebGpuDeviceOptions = {}): Promise<Backend> {
  current = await create(name, options);
  return current;
}

/**
 * Picks the default backend: the `ANDES_BACKEND` environment variable if set (errors propagate), else WebGPU when an
 * adapter exists, else the CPU with one warning line. With `ANDES_REQUIRE_WEBGPU=1` a missing WebGPU throws instead.
 */
export async function initBackend(): Promise<Backend> {
  const forced = env('ANDES_BACKEND');
  if (forced) return setBackend(forced as BackendName);
  try {
    return await setBackend('webgpu');
  } catch (e) {
    if (env('ANDES_REQUIRE_WEBGPU') === '1') throw e;
    if (!warned) {
      warned = true;
      console.warn(
        `[@andes/tensor] ${(e as Error).message} — using the CPU backend (slow). To get WebGPU install a GPU driver ` +
          `or Mesa lavapipe (e.g. apt install mesa-vulkan-drivers) and set XDG_RUNTIME_DIR.`,
      );
    }
    return setBackend('cpu');
  }
}

/** What a program's `--backend` option chooses: `'auto'` (see {@link initBackend}) or a backend by name. */
export type BackendChoice = 'auto' | BackendName;

/**
 * The one backend selection of every program (train, eval, serve): `'auto'` or `undefined` is {@link initBackend}
 * (`ANDES_BACKEND`, else WebGPU, else the CPU with one warning), a name is {@link setBackend}. Returns the backend.
 *
 * @throws Error naming the choice when it is not one of `'auto'`, `'webgpu'`, `'cpu'`; setBackend's error (which
 *   names the cause) when the chosen backend is unavailable.
 */
export async function selectBackend(choice: BackendChoice | undefined = 'auto'): Promise<Backend> {
  if (choice === 'auto') return initBackend();
  if (choice !== 'webgpu' && choice !== 'cpu') {
    throw new Error(`selectBackend: unknown backend '${choice}' (expected 'auto', 'webgpu' or 'cpu')`);
  }
  return setBackend(choice);
}

/** The current backend. Before any setBackend/initBackend call this is the CPU backend. */
export function getBackend(): Backend {
  if (!current) {
    current = created.get('cpu') ?? createCpuBackend();
    created.set('cpu', current);
  }
  return current;
}

/** Name of the current backend ('cpu' before initialisation). */
export function currentBackendName(): BackendName {
  return current?.name ?? 'cpu';
}

/** Resolves when the current backend has finished all queued work. */
export async function sync(): Promise<void> {
  await getBackend().sync();
}
