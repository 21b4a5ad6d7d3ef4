import { afterAll, describe, expect, it } from 'vitest';
import type { BlockType } from '../backend/backend.js';
import { activationRoundingBound } from '../cpu/block-matmul-wasm.js';
import { setCpuMatmulKernels } from '../cpu/matmul.js';
import { dequantize } from '../formats/ggml-dequantize.js';
import { quantize } from '../formats/ggml-quantize.js';
import * as T from '../index.js';
import { describeBackends } from '../testing/describe-backends.js';
import { setBlockMatmulVariant } from '../webgpu/kernels/block-matmul.js';
import { BLOCK_MATMUL_VARIANTS } from '../webgpu/tuning/block-family.js';
import { BlockWeight } from './block-weight.js';
import { randomBlockBytes as randomBytes } from './random-block-bytes.js';

/** A small seeded generator (mulberry32) so every run checks the same random blocks. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** float64 reference of x [m, k] · Wᵀ from the weight as ggml dequantizes it; also Σ|x||w| per output for a bound. */
function reference(x: Float32Array, w: Float32Array, m: number, n: number, k: number) {
  const y = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < n; r++) {
      let s = 0;
      let a = 0;
      for (let j = 0; j < k; j++) {
        s += x[i * k + j]! * w[r * k + j]!;
        a += Math.abs(x[i * k + j]! * w[r * k + j]!);
      }
      y[i * n + r] = s;
      mag[i * n + r] = a;
    }
  }
  return { y, mag };
}

const cases: { type: BlockType; k: number }[] = [
  { type: 'F16', k: 37 },
  { type: 'BF16', k: 37 },
  { type: 'Q8_0', k: 96 },
  { type: 'Q4_0', k: 160 },
  { type: 'Q4_K', k: 512 },
  { type: 'Q6_K', k: 256 },
];
const leads: number[][] = [[1], [3], [2, 3]];

describeBackends('blockLinear', (backend) => {
  const variants = backend === 'webgpu' ? (['w1', 's4'] as const) : (['js', 'wasm'] as const);
  afterAll(() => {
    setBlockMatmulVariant(undefined);
    setCpuMatmulKernels('wasm');
  });
  /** Selects a kernel variant: a WebGPU block-matmul variant, or the CPU's float64 JS or WebAssembly SIMD kernels. */
  const choose = (variant: (typeof variants)[number]) => {
    if (variant === 'js' || variant === 'wasm') setCpuMatmulKernels(variant);
    else setBlockMatmulVariant(BLOCK_MATMUL_VARIANTS[variant]);
  };
  for (const { type, k } of cases) {
    for (const lead of leads) {
      for (const variant of variants) {
        it(`${type}: x [${lead}, ${k}] · W [7, ${k}]ᵀ matches float64 on the dequantized weight (${variant} kernel)`, async () => {
          choose(variant);
          const rand = rng(k * 31 + lead.length * 7 + type.length);
          const n = 7;
          const m = lead.reduce((a, b) => a * b, 1);
          const bytes = randomBytes(type, n * k, rand);
          const w = BlockWeight.fromBytes(type, [n, k], bytes);
          const xs = Float32Array.from({ length: m * k }, () => rand() * 2 - 1);
          const x = T.tensor(xs, [...lead, k]);
          const y = T.blockLinear(x, w);
          expect(y.shape).toEqual([...lead, n]);
          const got = (await y.data()) as Float32Array;
          const { y: want, mag } = reference(xs, dequantize(type, bytes, n * k), m, n, k);
          // The SIMD kernels' int8 activations add their rounding bound (tested tightly in block-matmul-wasm.test).
          const rounding =
            variant === 'wasm' ? activationRoundingBound(type, bytes, xs, m, n, k) : new Float64Array(m * n);
          for (let i = 0; i < m * n; i++) {
            expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * mag[i]! + 1.0001 * rounding[i]! + 1e-6);
          }
          expect(await w.dequantize()).toEqual(dequantize(type, bytes, n * k));
          x.dispose();
          y.dispose();
          w.dispose();
        });
      }
    }
  }

  // On the CPU, both kernels; the SIMD ones' int8 activations add their rounding bound.
  const cpuKernels = backend === 'cpu' ? (['js', 'wasm'] as const) : ([null] as const);
  const roundingOf = (
    kernels: string | null,
    type: BlockType,
    b: Uint8Array,
    xs: Float32Array,
    m: number,
    n: number,
  ) => (kernels === 'wasm' ? activationRoundingBound(type, b, xs, m, n, xs.length / m) : new Float64Array(m * n));

  for (const kernels of cpuKernels)
    it(`edge values: f16 ±65504, subnormals, ±0; Q8_0/Q4_0 with subnormal and maximal scales, all-zero blocks${kernels ? ` (${kernels} kernels)` : ''}`, async () => {
      if (kernels) setCpuMatmulKernels(kernels);
      const rand = rng(11);
      const halves = [0x7bff, 0xfbff, 0x0001, 0x8001, 0x03ff, 0x0400, 0x0000, 0x8000, 0x3c00, 0xbc00, 0x3555];
      const f16 = new Uint8Array(2 * 2 * halves.length);
      halves.concat(halves.slice().reverse()).forEach((h, i) => {
        f16[2 * i] = h & 255;
        f16[2 * i + 1] = h >> 8;
      });
      const q8 = new Uint8Array(3 * 34);
      const q4 = new Uint8Array(3 * 18);
      const scales = [0x0001, 0x7bff, 0x0000]; // smallest subnormal d, largest d, all-zero block
      scales.forEach((h, b) => {
        q8.set([h & 255, h >> 8], 34 * b);
        q4.set([h & 255, h >> 8], 18 * b);
        for (let j = 0; j < 32; j++) q8[34 * b + 2 + j] = b === 2 ? 0 : [0x80, 0x7f, 0x01, 0xff][j % 4]!;
        for (let j = 0; j < 16; j++) q4[18 * b + 2 + j] = b === 2 ? 0 : [0x0f, 0xf0, 0x80, 0x08][j % 4]!;
      });
      for (const [type, bytes, n, k] of [
        ['F16', f16, 2, halves.length],
        ['Q8_0', q8, 3, 32],
        ['Q4_0', q4, 3, 32],
      ] as [BlockType, Uint8Array, number, number][]) {
        const w = BlockWeight.fromBytes(type, [n, k], bytes);
        const xs = Float32Array.from({ length: 2 * k }, () => rand() * 2 - 1);
        const got = (await T.blockLinear(T.tensor(xs, [2, k]), w).data()) as Float32Array;
        const { y, mag } = reference(xs, dequantize(type, bytes, n * k), 2, n, k);
        const rounding = roundingOf(kernels, type, bytes, xs, 2, n);
        for (let i = 0; i < 2 * n; i++) {
          const bound = 1e-5 * mag[i]! + 1.0001 * rounding[i]! + 1e-30;
          expect(Math.abs(got[i]! - y[i]!), `${type} output ${i}`).toBeLessThanOrEqual(bound);
        }
        w.dispose();
      }
    });

  for (const kernels of cpuKernels)
    it(`Q8_0 from quantize() and a bias, on a strided (transposed) input${kernels ? ` (${kernels} kernels)` : ''}`, async () => {
      if (kernels) setCpuMatmulKernels(kernels);
      const rand = rng(5);
      const [n, k] = [5, 64];
      const values = Float32Array.from({ length: n * k }, () => rand() * 2 - 1);
      const w = BlockWeight.quantize('Q8_0', [n, k], values);
      const xt = T.tensor(
        Array.from({ length: k * 3 }, () => rand() - 0.5),
        [k, 3],
      );
      const b = T.tensor([0.5, -1, 2, 0.25, 3]);
      const x = xt.transpose(0, 1);
      const got = (await T.blockLinear(x, w, b).data()) as Float32Array;
      const xs = (await T.contiguous(x).data()) as Float32Array;
      const { y, mag } = reference(xs, await w.dequantize(), 3, n, k);
      const rounding = roundingOf(kernels, 'Q8_0', quantize('Q8_0', values), xs, 3, n);
      for (let i = 0; i < 3 * n; i++) {
        const bound = 1e-5 * mag[i]! + 1.0001 * rounding[i]! + 1e-5;
        expect(Math.abs(got[i]! - (y[i]! + [0.5, -1, 2, 0.25, 3][i % n]!))).toBeLessThanOrEqual(bound);
      }
      w.dispose();
    });
});

describe('BlockWeight errors', () => {
  it('names the type, shape and problem', () => {
    T.setBackend('cpu');
    expect(() => BlockWeight.fromBytes('Q4_0', [2, 40], new Uint8Array(10))).toThrow(
      /Q4_0: in-features 40 of \[2, 40\] are not a whole number of 32-element blocks/,
    );
    expect(() => BlockWeight.fromBytes('Q8_0', [2, 32], new Uint8Array(10))).toThrow(/needs 68 bytes, got 10/);
    const w = BlockWeight.quantize('Q4_0', [2, 32], new Float32Array(64).fill(0.5));
    expect(() => T.blockLinear(T.zeros([3, 31]), w)).toThrow(/blockLinear: input \[3, 31\] does not end/);
    const x = T.randn([1, 32], { requiresGrad: true });
    expect(() => T.blockLinear(x, w)).toThrow(/inference-only/);
    w.dispose();
    expect(() => T.blockLinear(T.zeros([1, 32]), w)).toThrow(/used after dispose/);
  });
});
