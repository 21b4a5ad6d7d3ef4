import { afterEach, describe, expect, it } from 'vitest';
import type { BlockType, View } from '../backend/backend.js';
import { dequantize } from '../formats/ggml-dequantize.js';
import { ggmlBlockInfo, ggmlByteSize } from '../formats/ggml-types.js';
import { float32ToFloat16Bits } from '../formats/half-precision.js';
import { BlockWeight } from '../quant/block-weight.js';
import { makeRng } from '../testing/reference.js';
import { blockMatmul } from './block-matmul.js';
import { activationRoundingBound } from './block-matmul-wasm.js';
import { helperChunks, setCpuThreads, splitProducts, startCpuHelpers } from './cpu-threads.js';
import { createCpuBackend } from './index.js';
import { setCpuMatmulKernels } from './matmul.js';
import { CpuStorage } from './storage.js';
import { blockModuleBytes, wasmBlockKernels } from './wasm-block-kernels.js';
import { heapBlock, heapBytesInUse, setHeapByteLimit, WORK_BYTES } from './wasm-heap.js';
import { relaxedSimdSupported, setWasmRelaxedSimd } from './wasm-relaxed-simd.js';
import { wasmTile } from './wasm-tile.js';

const cpu = createCpuBackend();
const EPS = 2 ** -24;

/** An f16 scale drawn from the awkward ones: tiny subnormals, the largest finite, zero, or a moderate random one. */
function scaleBits(rng: () => number, positive: boolean): number {
  const pick = rng();
  if (pick < 0.1) return 0x0001 | (positive || rng() < 0.5 ? 0 : 0x8000); // smallest subnormal
  if (pick < 0.15) return 0x7bff; // 65504
  if (pick < 0.2) return 0;
  return float32ToFloat16Bits((positive ? rng() : rng() * 2 - 1) * 0.05);
}

/** Random valid blocks of `type` for [n, k]: random payload bits, scales from {@link scaleBits}. */
function randomBlocks(type: BlockType, n: number, k: number, rng: () => number): Uint8Array {
  const bytes = new Uint8Array(ggmlByteSize(type, n * k));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rng() * 256);
  const put = (at: number, h: number) => {
    bytes[at] = h & 255;
    bytes[at + 1] = h >> 8;
  };
  if (type === 'F16' || type === 'BF16') {
    // Any bits but f16 inf/NaN (exponent 31): normals, subnormals, ±0; bf16 keeps its exponent moderate.
    for (let at = 0; at < bytes.length; at += 2) {
      if (type === 'F16' && (bytes[at + 1]! & 0x7c) === 0x7c) bytes[at + 1]! ^= 0x40;
      if (type === 'BF16') bytes[at + 1] = (bytes[at + 1]! & 0x80) | (0x3c + Math.floor(rng() * 8));
    }
    return bytes;
  }
  const { typeSize } = ggmlBlockInfo(type);
  for (let at = 0; at < bytes.length; at += typeSize) {
    if (type === 'Q8_0' || type === 'Q4_0') put(at, scaleBits(rng, false));
    if (type === 'Q4_K') {
      put(at, scaleBits(rng, true));
      put(at + 2, scaleBits(rng, true));
    }
    if (type === 'Q6_K') put(at + 208, scaleBits(rng, false));
  }
  return bytes;
}

/** A block weight on the CPU backend: the ggml bytes in an int32 storage, as BlockWeight.fromBytes stores them. */
function weightStorage(bytes: Uint8Array): CpuStorage {
  const words = new Int32Array(Math.ceil(bytes.length / 4));
  new Uint8Array(words.buffer).set(bytes);
  const s = cpu.alloc('int32', words.length) as CpuStorage;
  cpu.write(s, words);
  return s;
}

/**
 * Checks out [m, n] against float64 x · Wᵀ of the dequantized weight. Half weights: float32 rounding of sums of
 * products in 8 float32 lanes of k/8 terms plus 4 combining adds, bound γ(k/8 + 6)·Σ|x·w|. Int8 paths: on top,
 * the activation rounding ({@link activationRoundingBound}), and the float error is relative to Σ|x|·(|w| + |dmin·m|)
 * for Q4_K, whose kernel sums the two terms of d·sc·q − dmin·m apart.
 */
function expectMatches(type: BlockType, bytes: Uint8Array, x: Float32Array, got: Float32Array, m: number, n: number) {
  const k = x.length / m;
  const w = dequantize(type, bytes, n * k);
  const rounding = activationRoundingBound(type, bytes, x, m, n, k);
  const mins = type === 'Q4_K' ? activationRoundingBound(type, bytes, new Float32Array(k).fill(254), 1, n, k) : null;
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < n; r++) {
      let want = 0;
      let mag = 0;
      for (let j = 0; j < k; j++) {
        want += x[i * k + j]! * w[r * k + j]!;
        mag += Math.abs(x[i * k + j]! * w[r * k + j]!);
      }
      // For Q4_K, Σ_j (|w| + |dmin·m|)·max|x| over the row stands in for Σ|x|·(|w| + |dmin·m|) (a larger bound).
      const xmax = Math.max(...Array.from(x.subarray(i * k, i * k + k), Math.abs));
      if (mins) mag = Math.max(mag, mins[r]! * xmax);
      const bound = (k / 8 + 6) * EPS * (mag + rounding[i * n + r]!) * 1.01 + 1.0001 * rounding[i * n + r]! + 1e-37;
      const err = Math.abs(got[i * n + r]! - want);
      if (!(err <= bound)) {
        expect.fail(
          `${type} [${m}, ${k}]·[${n}, ${k}]ᵀ out[${i}, ${r}] = ${got[i * n + r]} vs ${want} (bound ${bound})`,
        );
      }
    }
  }
}

function run(type: BlockType, weight: CpuStorage, x: Float32Array, m: number, n: number): Float32Array {
  const k = x.length / m;
  const view: View = { storage: new CpuStorage('float32', x), shape: [m, k], strides: [k, 1], offset: 0 };
  return blockMatmul(view, weight, type, n, k);
}

/** K of each type: whole blocks (32·odd, 256·odd), and for halves also k not a multiple of the 16-wide unit. */
const SHAPES: Record<BlockType, number[]> = {
  Q8_0: [96, 800],
  Q4_0: [32, 480],
  Q4_K: [256, 768],
  Q6_K: [256, 768],
  F16: [37, 208, 301],
  BF16: [37, 213],
};

describe.skipIf(!wasmBlockKernels())('cpu block matmul on the WebAssembly SIMD kernels', () => {
  const rng = makeRng(12);
  afterEach(() => {
    setHeapByteLimit(undefined);
    setCpuMatmulKernels('wasm');
    setWasmRelaxedSimd(undefined);
  });

  it('assembles a valid module, and one on relaxed SIMD where the engine has it', () => {
    expect(WebAssembly.validate(blockModuleBytes())).toBe(true);
    expect(WebAssembly.validate(blockModuleBytes(true))).toBe(relaxedSimdSupported());
  });

  for (const type of Object.keys(SHAPES) as BlockType[]) {
    it(`${type}: every K × N ∈ {7, 33} × M ∈ {1, 2, 3, 5} matches float64 within the stated bound`, () => {
      for (const k of SHAPES[type]!) {
        for (const n of [7, 33]) {
          const bytes = randomBlocks(type, n, k, rng);
          const weight = weightStorage(bytes);
          for (const m of [1, 2, 3, 5]) {
            // Activations of mixed magnitudes, with a zero block row now and then.
            const x = Float32Array.from({ length: m * k }, (_, i) =>
              (i >> 5) % 7 === 3 ? 0 : (rng() * 2 - 1) * 10 ** Math.floor(rng() * 4 - 2),
            );
            expectMatches(type, bytes, x, run(type, weight, x, m, n), m, n);
          }
          // Read in place: the words now live in wasm memory (moved once, not copied per call).
          expect(heapBlock(weight)).toBeDefined();
          expect(weight.data.buffer).toBe(wasmBlockKernels()!.memory.buffer);
          cpu.free(weight);
        }
      }
    });
  }

  it('F16: activations large enough that x · 2^112 would overflow float32 (1e4 … 1e30) still match float64', () => {
    // The kernel takes the activations times 2^112 (the widened f16 is its value times 2^-112); past |x| ≥ 2^12 the
    // driver scales them by less and the outputs back, so no activation or product overflows.
    for (const magnitude of [1e4, 3e20, 1e30]) {
      const [n, k] = [19, 83];
      const bytes = randomBlocks('F16', n, k, rng);
      const weight = weightStorage(bytes);
      for (const m of [1, 3, 6]) {
        const x = Float32Array.from({ length: m * k }, (_, i) => (rng() * 2 - 1) * (i % 5 === 0 ? magnitude : 1));
        const got = run('F16', weight, x, m, n);
        expect(got.every(Number.isFinite)).toBe(true);
        expectMatches('F16', bytes, x, got, m, n);
      }
      cpu.free(weight);
    }
  });

  // M = 1 runs the decode kernels (decodeStreams far-apart weight streams, the odd last row alone), M = 9 the
  // row-tiled ones: every output must sum in the same order either way.
  for (const type of ['Q8_0', 'Q4_0', 'F16', 'BF16'] as const) {
    it(`${type}: the same result for a row whatever the rows beside it (M = 1 vs M = 9, odd N)`, () => {
      for (const [n, k] of [
        [65, 96],
        [2, 160],
        [1, 64],
      ] as const) {
        const bytes = randomBlocks(type, n, k, rng);
        const weight = weightStorage(bytes);
        const x = Float32Array.from({ length: 9 * k }, () => rng() * 2 - 1);
        const all = run(type, weight, x, 9, n);
        for (const i of [0, 4, 8])
          expect(run(type, weight, x.slice(i * k, i * k + k), 1, n)).toEqual(all.slice(i * n, i * n + n));
        cpu.free(weight);
      }
    });
  }

  // On relaxed SIMD, Q4_0 (q4RelaxedBody: nibbles as the 7-bit operand, −8·Σx from the activations), Q4_K and Q6_K
  // (q4kRelaxedBody, q6kRelaxedBody: the unsigned q as the 7-bit operand) sum the same integers in the same lanes as
  // the plain kernels, so their outputs must equal the plain kernels' exactly.
  const RELAXED_CASES: Record<'Q4_0' | 'Q4_K' | 'Q6_K', [number, number][]> = {
    Q4_0: [
      [33, 480],
      [7, 32],
      [130, 96],
    ],
    Q4_K: [
      [33, 256],
      [7, 768],
    ],
    Q6_K: [
      [33, 256],
      [7, 768],
    ],
  };
  /** Sets quant bits to their extremes in some blocks: q = 0 and the largest q (the 7-bit operand's ends). */
  function extremeQuants(type: 'Q4_0' | 'Q4_K' | 'Q6_K', bytes: Uint8Array): void {
    const { typeSize } = ggmlBlockInfo(type);
    // Per type: byte ranges of the quants within a block (Q6_K: low nibbles, then the high 2-bit pairs).
    const ranges = {
      Q4_0: [[2, 6]],
      Q4_K: [[16, 48]],
      Q6_K: [
        [0, 16],
        [128, 144],
      ],
    }[type];
    for (let at = 0, b = 0; at < bytes.length; at += typeSize, b++) {
      if (b % 3 === 2) continue;
      for (const [from, to] of ranges) bytes.fill(b % 3 === 0 ? 0xff : 0x00, at + from!, at + to!);
    }
  }
  for (const type of ['Q4_0', 'Q4_K', 'Q6_K'] as const) {
    it.runIf(relaxedSimdSupported())(
      `${type}: relaxed SIMD kernels equal the plain SIMD kernels bit for bit and match float64 (M = 1..9, odd N)`,
      () => {
        for (const [n, k] of RELAXED_CASES[type]) {
          const bytes = randomBlocks(type, n, k, rng);
          extremeQuants(type, bytes);
          const weight = weightStorage(bytes);
          for (const m of [1, 2, 3, 4, 5, 9]) {
            // Some 32-blocks hold ±127 after quantization: the largest activations against the largest quants.
            const x = Float32Array.from({ length: m * k }, (_, i) =>
              (i >> 5) % 5 === 2 ? (i % 3 ? 127 : -127) : (rng() * 2 - 1) * 3,
            );
            setWasmRelaxedSimd(false);
            expect(wasmBlockKernels()!.relaxed).toBe(false);
            const plain = run(type, weight, x, m, n);
            setWasmRelaxedSimd(true);
            expect(wasmBlockKernels()!.relaxed).toBe(true);
            const relaxed = run(type, weight, x, m, n);
            expect(relaxed).toEqual(plain);
            expectMatches(type, bytes, x, relaxed, m, n);
          }
          cpu.free(weight);
        }
      },
    );
  }

  it('moves a weight into wasm memory on first use and returns it on free', () => {
    const bytes = randomBlocks('Q8_0', 301, 64, rng);
    const weight = weightStorage(bytes);
    const before = heapBytesInUse();
    run(
      'Q8_0',
      weight,
      Float32Array.from({ length: 64 }, () => rng()),
      1,
      301,
    );
    expect(heapBytesInUse() - before).toBe(4 * weight.size);
    expect(new Uint8Array(weight.data.buffer, weight.data.byteOffset, bytes.length)).toEqual(bytes);
    cpu.free(weight);
    expect(heapBytesInUse()).toBe(before);
  });

  it('places a BlockWeight in wasm memory as it is created (load time), one copy only', () => {
    const bytes = randomBlocks('Q4_0', 33, 96, rng);
    const before = heapBytesInUse();
    const w = BlockWeight.fromBytes('Q4_0', [33, 96], bytes, cpu);
    const storage = w.storage as CpuStorage;
    expect(heapBlock(storage)).toBeDefined();
    expect(storage.data.buffer).toBe(wasmBlockKernels()!.memory.buffer);
    expect(heapBytesInUse() - before).toBe(4 * storage.size);
    const x = Float32Array.from({ length: 96 }, () => rng() * 2 - 1);
    expectMatches('Q4_0', bytes, x, run('Q4_0', storage, x, 1, 33), 1, 33);
    w.dispose();
    expect(heapBytesInUse()).toBe(before);
  });

  it('keeps a BlockWeight that wasm memory cannot take on the JS heap from creation on', () => {
    setHeapByteLimit(WORK_BYTES);
    const bytes = randomBlocks('Q6_K', 5, 256, rng);
    const w = BlockWeight.fromBytes('Q6_K', [5, 256], bytes, cpu);
    const storage = w.storage as CpuStorage;
    expect(heapBlock(storage)).toBeUndefined();
    setHeapByteLimit(undefined);
    // Refused once, it stays with the JS kernels even when room appears later (no move in the middle of a run).
    const x = Float32Array.from({ length: 256 }, () => rng() * 2 - 1);
    const got = run('Q6_K', storage, x, 1, 5);
    expect(heapBlock(storage)).toBeUndefined();
    // The JS kernels: float64 sums of float32-exact products, so a float32-only bound holds.
    const deq = dequantize('Q6_K', bytes, 5 * 256);
    for (let r = 0; r < 5; r++) {
      let want = 0;
      let mag = 0;
      for (let j = 0; j < 256; j++) {
        want += x[j]! * deq[r * 256 + j]!;
        mag += Math.abs(x[j]! * deq[r * 256 + j]!);
      }
      expect(Math.abs(got[r]! - want)).toBeLessThanOrEqual(4 * EPS * mag + 1e-37);
    }
    w.dispose();
  });

  it('keeps a weight that wasm memory cannot take on the JS heap and uses the JS kernels for it', () => {
    // A cap at the work area: no weight fits above it (as when a model passes 4 GiB or a grow is refused).
    setHeapByteLimit(WORK_BYTES);
    const [n, k] = [9, 256];
    const bytes = randomBlocks('Q4_K', n, k, rng);
    const weight = weightStorage(bytes);
    const own = weight.data;
    const x = Float32Array.from({ length: 2 * k }, () => rng() * 2 - 1);
    const got = run('Q4_K', weight, x, 2, n);
    expect(heapBlock(weight)).toBeUndefined();
    expect(weight.data).toBe(own);
    // The JS kernels dot in float64 with the exact activations: no int8 rounding, so a float32-only bound holds.
    const w = dequantize('Q4_K', bytes, n * k);
    for (let i = 0; i < 2; i++) {
      for (let r = 0; r < n; r++) {
        let want = 0;
        let mag = 0;
        for (let j = 0; j < k; j++) {
          want += x[i * k + j]! * w[r * k + j]!;
          mag += Math.abs(x[i * k + j]! * w[r * k + j]!);
        }
        expect(Math.abs(got[i * n + r]! - want)).toBeLessThanOrEqual(4 * EPS * mag + 1e-37);
      }
    }
    cpu.free(weight);
  });

  it("follows setCpuMatmulKernels('js'): the weight stays on the JS heap and the float64 JS kernels run", () => {
    setCpuMatmulKernels('js');
    const [n, k] = [5, 64];
    const bytes = randomBlocks('Q8_0', n, k, rng);
    const weight = weightStorage(bytes);
    const x = Float32Array.from({ length: k }, () => rng() * 2 - 1);
    const js = run('Q8_0', weight, x, 1, n);
    expect(heapBlock(weight)).toBeUndefined();
    setCpuMatmulKernels('wasm');
    const simd = run('Q8_0', weight, x, 1, n);
    expect(heapBlock(weight)).toBeDefined();
    // The int8 activations make the SIMD result differ slightly, within the bound (checked above): not identical.
    expectMatches('Q8_0', bytes, x, simd, 1, n);
    expectMatches('Q8_0', bytes, x, js, 1, n);
    cpu.free(weight);
  });
});

// The block products run as a range kernel over runs of weight rows (block-rows.ts) that the helper threads share:
// each output comes from the same kernel over the same units whichever thread takes its run (rows of x in the same
// tiles of four, the decode kernels' far streams dotting each row as one stream does), so two threads must give the
// one-thread floats bit for bit, plain and relaxed SIMD alike, and the helpers must really take part.
describe.skipIf(!wasmBlockKernels() || !wasmTile()?.shared)('cpu block matmul split across CPU threads', () => {
  const rng = makeRng(31);
  afterEach(() => {
    setCpuThreads(undefined);
    setWasmRelaxedSimd(undefined);
  });

  const cases: [BlockType, number][] = [
    ['Q8_0', 288],
    ['Q4_0', 160],
    ['Q4_K', 256],
    ['Q6_K', 256],
    ['F16', 301],
    ['BF16', 208],
  ];
  for (const relaxed of relaxedSimdSupported() ? [false, true] : [false]) {
    for (const [type, k] of cases) {
      it(`${type}${relaxed ? ' (relaxed SIMD)' : ''}: two threads give the one-thread floats (M ∈ {1, 3, 16, 19}, N odd)`, async () => {
        setWasmRelaxedSimd(relaxed);
        // N = 4099: no multiple of the 32-row runs, of the decode kernels' streams or of a cache line of outputs.
        const n = 4099;
        const bytes = randomBlocks(type, n, k, rng);
        const weight = weightStorage(bytes);
        let helped = 0;
        for (const m of [1, 3, 16, 19]) {
          const x = Float32Array.from({ length: m * k }, () => (rng() * 2 - 1) * 3);
          setCpuThreads(1);
          const one = run(type, weight, x, m, n);
          setCpuThreads(2);
          expect(await startCpuHelpers()).toBe(1);
          // The first product after the block module is built may restart the pool (its helpers lacked the module).
          run(type, weight, x, m, n);
          expect(await startCpuHelpers()).toBe(1);
          const [splits, chunks] = [splitProducts(), helperChunks()];
          const two = run(type, weight, x, m, n);
          expect(splitProducts() - splits, `${type} M ${m} split`).toBe(1);
          helped += helperChunks() - chunks;
          expect(Array.from(two), `${type} M ${m}`).toEqual(Array.from(one));
          if (m === 3) expectMatches(type, bytes, x, two, m, n);
          // On a busy machine a helper may wake after the caller took every chunk: the largest product, until it helps.
          for (let i = 0; m === 19 && helped === 0 && i < 40; i++) {
            const before = helperChunks();
            expect(Array.from(run(type, weight, x, m, n))).toEqual(Array.from(one));
            helped += helperChunks() - before;
          }
        }
        expect(helped, `${type}: chunks the helper ran`).toBeGreaterThan(0);
        cpu.free(weight);
      });
    }
  }
});
