import {
  dequantize,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  ggmlByteSize,
  kQuantScaleMin,
  quantize,
  seededUniform,
} from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { ggmlPeer, type PeerBlockType } from '../test/ggml-peer.js';

const rng = seededUniform(12);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

/** 32-value blocks with awkward content: random scales, all-zero, ±max, ties, tiny, huge, exact halves. */
function awkwardBlocks(blockSize: number): Float32Array {
  const blocks: number[][] = [];
  const fill = (f: (j: number) => number) => blocks.push(Array.from({ length: blockSize }, (_, j) => f(j)));
  for (const scale of [1, 0.02, 3e-3, 17, 1e-6, 6e4]) fill(() => normal() * scale);
  fill(() => 0);
  fill((j) => (j === 5 ? 65504 : j === 9 ? -65504 : normal()));
  fill((j) => (j === 3 ? -2 : j === 20 ? 2 : rng() - 0.5)); // |max| tie: the first one wins in Q4_0
  fill((j) => (j % 2 ? 1e-30 : -3e-30)); // d underflows f16
  fill((j) => (j === 0 ? 127 : j - 16 + 0.5)); // Q8_0 with d = 1: exact halves round away from zero
  fill((j) => (j === 0 ? -8 : ((j % 17) - 8) * 0.5 + (j % 3 === 0 ? 0.25 : 0))); // Q4_0 halves: x·id + 8.5 whole
  fill(() => 2.71); // constant block
  fill((j) => (j < blockSize / 2 ? 1 : -1) * (1 + j / 7));
  return Float32Array.from(blocks.flat());
}

const peer = ggmlPeer();
if (typeof peer === 'string') console.warn(`[skip] ggml peer unavailable: ${peer}`);
const withPeer = typeof peer === 'string' ? it.skip : it;

describe('Q8_0 / Q4_0 from the written definition', () => {
  it('builds a Q8_0 block by hand and decodes q·d', () => {
    const block = new Uint8Array(34);
    const d = 0.0625; // exact in f16: 0x2c00
    block[0] = 0x00;
    block[1] = 0x2c;
    const qs = Array.from({ length: 32 }, (_, j) => (j * 37) % 255).map((q) => q - 127);
    for (let j = 0; j < 32; j++) block[2 + j] = qs[j]! & 255;
    expect(Array.from(dequantize('Q8_0', block, 32))).toEqual(qs.map((q) => q * d));
  });

  it('builds a Q4_0 block by hand: low nibbles are elements 0–15, high nibbles 16–31, value (q − 8)·d', () => {
    const block = new Uint8Array(18);
    block[0] = 0x00;
    block[1] = 0xc0; // −2
    const q = Array.from({ length: 32 }, (_, j) => (j * 7 + 3) % 16);
    for (let j = 0; j < 16; j++) block[2 + j] = q[j]! | (q[j + 16]! << 4);
    expect(Array.from(dequantize('Q4_0', block, 32))).toEqual(q.map((v) => (v - 8) * -2));
  });

  it('Q8_0 of a block with amax 127 has d = 1 and rounds halves away from zero', () => {
    const x = Float32Array.from({ length: 32 }, (_, j) => (j === 0 ? 127 : j - 16 + 0.5));
    const blocks = quantize('Q8_0', x);
    expect(blocks[0] | (blocks[1]! << 8)).toBe(0x3c00);
    const q = Array.from(new Int8Array(blocks.buffer, 2, 32));
    expect(q.slice(1)).toEqual(Array.from({ length: 31 }, (_, k) => k + 1 - 16 + (k + 1 - 16 >= 0 ? 1 : 0)));
  });

  it('Q4_0 maps the extreme value to 0 and keeps its sign in d; an all-zero block is d = 0, q = 8', () => {
    const x = Float32Array.from({ length: 32 }, (_, j) => (j === 4 ? -16 : j / 4));
    const b = quantize('Q4_0', x);
    expect(float16BitsToFloat32(b[0]! | (b[1]! << 8))).toBe(2);
    expect(b[2 + 4]! & 15).toBe(0);
    const zero = quantize('Q4_0', new Float32Array(32));
    // 0 / −8 is −0 in float32, so d is stored as f16 −0 (0x8000), as ggml does.
    expect(Array.from(zero)).toEqual([0, 0x80, ...new Array(16).fill(0x88)]);
    expect(Array.from(dequantize('Q4_0', zero, 32))).toEqual(new Array(32).fill(-0));
  });

  for (const type of ['Q8_0', 'Q4_0'] as const) {
    it(`${type}: quantize → dequantize stays within half a step of a float64 reference`, () => {
      const x = awkwardBlocks(32);
      const y = dequantize(type, quantize(type, x), x.length);
      for (let b = 0; b < x.length; b += 32) {
        const block = Array.from(x.subarray(b, b + 32));
        const amax = Math.max(...block.map(Math.abs));
        const d = type === 'Q8_0' ? amax / 127 : amax / 8;
        const dHalf = float16BitsToFloat32(float32ToFloat16Bits(d));
        if (!Number.isFinite(dHalf) || dHalf === 0) continue; // no representable step: nothing to bound
        // Half a step, plus the f16 rounding of d carried over up to 8 (or 127) steps.
        const bound = dHalf / 2 + Math.abs(dHalf - d) * (type === 'Q8_0' ? 127 : 8) + 1e-6 * amax;
        for (let j = 0; j < 32; j++) {
          const err = Math.abs(y[b + j]! - block[j]!);
          const clampSlack = type === 'Q4_0' && block[j]! * Math.sign(-block.find((v) => Math.abs(v) === amax)!) > 0;
          expect(err).toBeLessThanOrEqual(clampSlack ? bound + dHalf : bound);
        }
      }
    });
  }

  it('refuses lengths that are not whole blocks, naming the type', () => {
    expect(() => quantize('Q8_0', new Float32Array(33))).toThrow(/Q8_0: 33 elements/);
    expect(() => dequantize('Q4_K', new Uint8Array(100), 256)).toThrow(/Q4_K: 256 elements need 144 bytes, got 100/);
  });
});

/** Packs 8 (scale, min) pairs of 6 bits into K-quant's 12 bytes, as the definition lays them out. */
function packScaleMins(sc: number[], m: number[]): Uint8Array {
  const q = new Uint8Array(12);
  for (let j = 0; j < 4; j++) {
    q[j] = sc[j]! | ((sc[j + 4]! >> 4) << 6);
    q[j + 4] = m[j]! | ((m[j + 4]! >> 4) << 6);
    q[j + 8] = (sc[j + 4]! & 15) | ((m[j + 4]! & 15) << 4);
  }
  return q;
}

describe('K-quants from the written definition (float64 reference)', () => {
  it('unpacks every 6-bit scale and min of the 12-byte table', () => {
    const sc = Array.from({ length: 8 }, () => Math.floor(rng() * 64));
    const m = Array.from({ length: 8 }, () => Math.floor(rng() * 64));
    sc[7] = 63;
    m[4] = 63;
    const packed = packScaleMins(sc, m);
    for (let j = 0; j < 8; j++) expect(kQuantScaleMin(packed, 0, j)).toEqual([sc[j], m[j]]);
  });

  it('Q4_K: value d·scale·q − dmin·min, sub-block pairs sharing 32 bytes of nibbles', () => {
    const d = 0.0123;
    const dmin = 0.0456;
    const sc = Array.from({ length: 8 }, () => Math.floor(rng() * 64));
    const m = Array.from({ length: 8 }, () => Math.floor(rng() * 64));
    const q = Array.from({ length: 256 }, () => Math.floor(rng() * 16));
    const block = new Uint8Array(144);
    const view = new DataView(block.buffer);
    view.setUint16(0, float32ToFloat16Bits(d), true);
    view.setUint16(2, float32ToFloat16Bits(dmin), true);
    block.set(packScaleMins(sc, m), 4);
    for (let pair = 0; pair < 4; pair++) {
      for (let l = 0; l < 32; l++) block[16 + 32 * pair + l] = q[64 * pair + l]! | (q[64 * pair + 32 + l]! << 4);
    }
    const dh = float16BitsToFloat32(float32ToFloat16Bits(d));
    const mh = float16BitsToFloat32(float32ToFloat16Bits(dmin));
    const y = dequantize('Q4_K', block, 256);
    for (let i = 0; i < 256; i++) {
      const s = i >> 5;
      const want = dh * sc[s]! * q[i]! - mh * m[s]!;
      expect(Math.abs(y[i]! - want)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want)));
    }
  });

  it('Q6_K: value d·scale·(q − 32) with q = 4 low bits from ql, 2 high bits from qh', () => {
    const d = -0.0071;
    const q = Array.from({ length: 256 }, () => Math.floor(rng() * 64));
    const scales = Array.from({ length: 16 }, () => Math.floor(rng() * 256) - 128);
    const block = new Uint8Array(210);
    for (let i = 0; i < 256; i++) {
      const n = i >> 7;
      const r = i & 127;
      const k = r >> 5;
      const l = r & 31;
      const qlAt = 64 * n + l + 32 * (k & 1);
      block[qlAt]! |= (q[i]! & 15) << (k >= 2 ? 4 : 0);
      block[128 + 32 * n + l]! |= (q[i]! >> 4) << (2 * k);
    }
    for (let i = 0; i < 16; i++) block[192 + i] = scales[i]! & 255;
    new DataView(block.buffer).setUint16(208, float32ToFloat16Bits(d), true);
    const dh = float16BitsToFloat32(float32ToFloat16Bits(d));
    const y = dequantize('Q6_K', block, 256);
    for (let i = 0; i < 256; i++) {
      const want = dh * scales[i >> 4]! * (q[i]! - 32);
      expect(Math.abs(y[i]! - want)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want)));
    }
  });
});

describe('byte for byte against ggml (libggml-base from node-llama-cpp, via ctypes)', () => {
  for (const [type, ours] of [
    ['q8_0', 'Q8_0'],
    ['q4_0', 'Q4_0'],
  ] as const) {
    withPeer(`quantize_row_${type}_ref gives the same blocks, and dequantize_row_${type} the same floats`, () => {
      const p = peer as Exclude<typeof peer, string>;
      const x = awkwardBlocks(32);
      const want = p.quantize(type, x);
      const got = quantize(ours, x);
      expect(got.length).toBe(want.length);
      const firstDiff = got.findIndex((b, i) => b !== want[i]);
      expect(
        firstDiff,
        `first differing byte ${firstDiff} (block ${Math.floor(firstDiff / (ours === 'Q8_0' ? 34 : 18))})`,
      ).toBe(-1);
      expect(dequantize(ours, want, x.length)).toEqual(p.dequantize(type, want, x.length));
    });
  }

  for (const [type, ours] of [
    ['q4_K', 'Q4_K'],
    ['q6_K', 'Q6_K'],
  ] as const) {
    withPeer(`dequantize_row_${type} of ggml-made ${ours} blocks equals ours bit for bit`, () => {
      const p = peer as Exclude<typeof peer, string>;
      const x = awkwardBlocks(256);
      const blocks = p.quantize(type as PeerBlockType, x);
      expect(blocks.length).toBe(ggmlByteSize(ours, x.length));
      const want = p.dequantize(type as PeerBlockType, blocks, x.length);
      const got = dequantize(ours, blocks, x.length);
      const bad = [...got.keys()].filter((i) => !Object.is(got[i], want[i]));
      expect(bad.slice(0, 5).map((i) => [i, got[i], want[i]])).toEqual([]);
    });
  }
});
