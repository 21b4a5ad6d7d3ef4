import type { Storage, View } from '../backend/backend.js';
import { cpuMatmulKernels } from './matmul.js';
import { allocCpu, readView } from './storage.js';
import { simdSwiglu } from './wasm-rows.js';

/**
 * silu(gate) · up in one pass (a decode step runs it once per layer; the composition allocates and walks twice).
 * With the SIMD kernels chosen (`setCpuMatmulKernels`), in float32 lanes (wasm-rows.ts: within 4 ulps of float64;
 * a `Math.exp` per element was ~20 ns, 2 % of a stories-15m decode step); else in float64 with silu rounded to
 * float32 before the product, as the composition stores it, so both give the same floats.
 */
export function swiglu(gate: View, up: View): Storage {
  const g = readView(gate);
  const u = readView(up);
  const out = allocCpu('float32', g.length);
  const o = out.data;
  if (cpuMatmulKernels() === 'wasm' && simdSwiglu(g as Float32Array, u as Float32Array, o as Float32Array)) return out;
  for (let i = 0; i < g.length; i++) {
    const x = g[i]!;
    o[i] = Math.fround(x / (1 + Math.exp(-x))) * u[i]!;
  }
  return out;
}

/** With s = sigmoid(gate): dgate = dy · up · s · (1 + gate · (1 − s)), dup = dy · gate · s (float64 per element). */
export function swigluBackward(dy: View, gate: View, up: View): { dgate: Storage; dup: Storage } {
  const d = readView(dy);
  const g = readView(gate);
  const u = readView(up);
  const dgate = allocCpu('float32', g.length);
  const dup = allocCpu('float32', g.length);
  for (let i = 0; i < g.length; i++) {
    const x = g[i]!;
    const s = 1 / (1 + Math.exp(-x));
    dgate.data[i] = d[i]! * u[i]! * s * (1 + x * (1 - s));
    dup.data[i] = d[i]! * x * s;
  }
  return { dgate, dup };
}
