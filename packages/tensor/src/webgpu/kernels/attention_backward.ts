import type { View } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';
export function attentionBackward(
  _rt: Runtime,
  _q: View,
  _k: View,
  _v: View,
  _o: View,
  _d: View,
  _l: View,
  _s: number,
  _c: boolean,
): { dq: GpuStorage; dk: GpuStorage; dv: GpuStorage } {
  throw new Error('webgpu.attentionBackward: not implemented');
}
