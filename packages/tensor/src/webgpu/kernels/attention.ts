import type { View } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';
export function attention(
  _rt: Runtime,
  _q: View,
  _k: View,
  _v: View,
  _s: number,
  _c: boolean,
): { o: GpuStorage; lse: GpuStorage } {
  throw new Error('webgpu.attention: not implemented');
}
