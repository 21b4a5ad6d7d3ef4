/**
 * The CPU kernel of x · Wᵀ for block-format weights (f16, bf16, Q8_0, Q4_0, Q4_K, Q6_K): each weight row is decoded
 * once per call into a reused float32 buffer with ggml's own definitions (the shared `formats/` decoders), then dotted
 * with every row of x in float64. Decoding per row keeps memory at one row however large the weight. For one or two
 * rows of x (decode), F16, Q8_0 and Q4_0 are dotted straight from their bytes instead. These JS kernels are the
 * fallback: the WebAssembly SIMD kernels (block-matmul-wasm.ts) go first where they can.
 *
 * @module
 */
import type { BlockType, Storage, View } from '../backend/backend.js';
import { dequantizeBlocksInto } from '../formats/ggml-dequantize.js';
import { ggmlByteSize } from '../formats/ggml-types.js';
import { float16ArrayToFloat32 } from '../formats/half-precision.js';
import { wasmBlockMatmul } from './block-matmul-wasm.js';
import { cpuMatmulKernels } from './matmul.js';
import { allocCpu, CpuStorage, cpuData } from './storage.js';

let f16Table: Float32Array | undefined;

/** All 65 536 float16 values, built once (a lookup per weight instead of bit twiddling). */
function float16Table(): Float32Array {
  if (f16Table === undefined) {
    const bits = new Uint16Array(0x10000);
    for (let h = 0; h < 0x10000; h++) bits[h] = h;
    f16Table = float16ArrayToFloat32(bits);
  }
  return f16Table;
}

/** Decodes weight row `row` (k elements, `rowBytes` bytes each) into `out`. */
function decodeRow(type: BlockType, bytes: Uint8Array, row: number, rowBytes: number, out: Float32Array): void {
  const at = row * rowBytes;
  if (type === 'F16' || type === 'BF16') {
    // Rows of halves start at even bytes of a word-aligned buffer: read them as one Uint16Array.
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset + at, out.length);
    if (type === 'F16') {
      const table = float16Table();
      for (let j = 0; j < out.length; j++) out[j] = table[halves[j]!]!;
    } else {
      const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
      for (let j = 0; j < out.length; j++) bits[j] = halves[j]! << 16; // bfloat16 is the top half of a float32
    }
    return;
  }
  dequantizeBlocksInto(type, bytes.subarray(at, at + rowBytes), out);
}

/**
 * Decode (few rows of x): F16 weights dotted through the lookup table, Q8_0 / Q4_0 blocks straight from their bytes
 * (d times the integer-weighted sum), with no decoded row in between. Returns false for other types.
 */
function fusedRows(
  type: BlockType,
  bytes: Uint8Array,
  xs: Float32Array,
  xOffset: number,
  m: number,
  n: number,
  k: number,
  out: Float32Array,
): boolean {
  const table = float16Table();
  if (type === 'F16') {
    for (let row = 0; row < n; row++) {
      const halves = new Uint16Array(bytes.buffer, bytes.byteOffset + row * k * 2, k);
      for (let i = 0; i < m; i++) {
        let acc = 0;
        for (let j = 0, xb = xOffset + i * k; j < k; j++) acc += table[halves[j]!]! * xs[xb + j]!;
        out[i * n + row] = acc;
      }
    }
    return true;
  }
  if (type !== 'Q8_0' && type !== 'Q4_0') return false;
  const i8 = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const typeSize = type === 'Q8_0' ? 34 : 18;
  const blocks = k / 32;
  for (let row = 0; row < n; row++) {
    const rowAt = row * blocks * typeSize;
    for (let i = 0; i < m; i++) {
      let acc = 0;
      for (let b = 0, at = rowAt, xb = xOffset + i * k; b < blocks; b++, at += typeSize, xb += 32) {
        const d = table[bytes[at]! | (bytes[at + 1]! << 8)]!;
        let s = 0;
        if (type === 'Q8_0') {
          for (let j = 0; j < 32; j++) s += i8[at + 2 + j]! * xs[xb + j]!;
        } else {
          for (let j = 0; j < 16; j++) {
            const q = bytes[at + 2 + j]!;
            s += ((q & 15) - 8) * xs[xb + j]! + ((q >> 4) - 8) * xs[xb + j + 16]!;
          }
        }
        acc += d * s;
      }
      out[i * n + row] = acc;
    }
  }
  return true;
}

/** Rows of x up to which {@link fusedRows} beats decoding each weight row once and reusing it. */
const FUSED_MAX_ROWS = 2;

/**
 * out [m, n] = x [m, k] · Wᵀ with W [n, k] in `type`'s bytes held by the int32 storage `weight`: on the WebAssembly
 * SIMD kernels (block-matmul-wasm.ts) where they and wasm memory for the weight are available and the `wasm`
 * kernels are chosen (`setCpuMatmulKernels`), else by the JS kernels below.
 */
export function blockMatmul(x: View, weight: Storage, type: BlockType, n: number, k: number): Float32Array {
  const xs = cpuData(x.storage) as Float32Array;
  const m = k === 0 ? 0 : (x.shape.reduce((a, b) => a * b, 1) as number) / k;
  // Every path below writes every output: a pooled array need not be zeroed (the LM head's are 2 MB at 16 rows).
  const out = allocCpu('float32', m * n, false).data as Float32Array;
  if (cpuMatmulKernels() === 'wasm' && weight instanceof CpuStorage) {
    if (wasmBlockMatmul(type, weight, xs, x.offset, m, n, k, out)) return out;
  }
  // Read the words only now: the SIMD path may have moved them into wasm memory.
  const words = cpuData(weight);
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const rowBytes = ggmlByteSize(type, k);
  if (m <= FUSED_MAX_ROWS && fusedRows(type, bytes, xs, x.offset, m, n, k, out)) return out;
  const w = new Float32Array(k);
  for (let row = 0; row < n; row++) {
    decodeRow(type, bytes, row, rowBytes, w);
    for (let i = 0; i < m; i++) {
      const xb = x.offset + i * k;
      let s0 = 0;
      let s1 = 0;
      let j = 0;
      for (; j + 1 < k; j += 2) {
        s0 += xs[xb + j]! * w[j]!;
        s1 += xs[xb + j + 1]! * w[j + 1]!;
      }
      if (j < k) s0 += xs[xb + j]! * w[j]!;
      out[i * n + row] = s0 + s1;
    }
  }
  return out;
}
