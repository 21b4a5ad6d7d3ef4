import { spawnSync } from 'node:child_process';
import {
  bfloat16ArrayToFloat32,
  bfloat16BitsToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '@andes/tensor';
import { describe, expect, it } from 'vitest';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!hasNumpy) console.warn('[skip] python3 + numpy not available: numpy float16 cross-check skipped');

const f32 = (x: number) => Math.fround(x);

describe('float16', () => {
  it('decodes the spec landmarks', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0xc000)).toBe(-2);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0x0400)).toBe(2 ** -14);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x3555)).toBe(0.333251953125);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
  });

  it('converts arrays through the table exactly like the scalar decoder', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, h) => h);
    const viaTable = float16ArrayToFloat32(all);
    const bad = Array.from(all).filter(
      (h) => !Object.is(viaTable[h], Math.fround(float16BitsToFloat32(h))) && !Number.isNaN(viaTable[h]!),
    );
    expect(bad).toEqual([]);
  });

  it('round-trips every non-NaN bit pattern exactly', () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const back = float32ToFloat16Bits(float16BitsToFloat32(h));
      const nan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (nan ? (back & 0x7fff) <= 0x7c00 : back !== h) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('rounds to nearest, ties to even, at every midpoint between neighbours (subnormals included)', () => {
    const bad: string[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const a = float16BitsToFloat32(h);
      const b = float16BitsToFloat32(h + 1);
      const mid = (a + b) / 2; // exact in float32: half has 11 significant bits
      const even = h % 2 === 0 ? h : h + 1;
      const up = mid + Math.max(mid * 2 ** -20, 2 ** -140);
      const down = mid - (mid - a) / 4;
      const got = [
        float32ToFloat16Bits(mid),
        float32ToFloat16Bits(-mid),
        float32ToFloat16Bits(up),
        float32ToFloat16Bits(down),
      ];
      const want = [even, even | 0x8000, h + 1, h];
      if (f32(mid) !== mid || got.some((g, i) => g !== want[i])) bad.push(`${h}: ${got} vs ${want}`);
    }
    expect(bad).toEqual([]);
  });

  it('overflows to infinity past 65504 + half an ulp, underflows to signed zero', () => {
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // tie between 65504 (odd) and 65536: goes up
    expect(float32ToFloat16Bits(1e10)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-1e10)).toBe(0xfc00);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // tie with 0 (even)
    expect(float32ToFloat16Bits(f32(2 ** -25 * 1.01))).toBe(1);
    expect(float32ToFloat16Bits(-1e-30)).toBe(0x8000);
    expect(float32ToFloat16Bits(Number.NaN) & 0x7fff).toBeGreaterThan(0x7c00);
  });

  it.skipIf(!hasNumpy)('agrees with numpy on random float32 bit patterns', () => {
    const n = 20000;
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      // Spread exponents over the whole float32 range and around the float16 range.
      const exp = i % 3 === 0 ? (Math.random() * 255) | 0 : 100 + ((Math.random() * 50) | 0);
      bits[i] = ((Math.random() < 0.5 ? 1 : 0) << 31) | (exp << 23) | ((Math.random() * 0x800000) | 0);
    }
    const values = new Float32Array(bits.buffer);
    const script =
      'import sys, numpy as np\n' +
      'x = np.frombuffer(sys.stdin.buffer.read(), dtype="<f4")\n' +
      'with np.errstate(all="ignore"):\n' +
      '    sys.stdout.buffer.write(x.astype("<f2").tobytes())\n';
    const out = spawnSync('python3', ['-c', script], { input: Buffer.from(bits.buffer), maxBuffer: 1 << 24 });
    expect(out.status).toBe(0);
    const numpy = new Uint16Array(new Uint8Array(out.stdout).buffer);
    const mine = float32ArrayToFloat16(values);
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(values[i]!)) expect(mine[i]! & 0x7fff).toBeGreaterThan(0x7c00);
      else if (mine[i] !== numpy[i])
        expect.fail(`float32 ${values[i]} (0x${bits[i]!.toString(16)}): ${mine[i]} vs numpy ${numpy[i]}`);
    }
  });
});

describe('bfloat16', () => {
  it('decodes exactly as the top half of float32', () => {
    expect(bfloat16BitsToFloat32(0x3f80)).toBe(1);
    expect(bfloat16BitsToFloat32(0xc049)).toBe(f32(-3.140625));
    expect(bfloat16BitsToFloat32(0x7f80)).toBe(Infinity);
    expect(Array.from(bfloat16ArrayToFloat32([0x3f80, 0x0001]))).toEqual([1, 2 ** -133]);
  });

  it('rounds to nearest, ties to even, at midpoints across the whole range', () => {
    const bad: number[] = [];
    for (let b = 0; b < 0x7f7f; b += 1) {
      const mid = (bfloat16BitsToFloat32(b) + bfloat16BitsToFloat32(b + 1)) / 2;
      const even = b % 2 === 0 ? b : b + 1;
      if (float32ToBfloat16Bits(mid) !== even || float32ToBfloat16Bits(-mid) !== (even | 0x8000)) bad.push(b);
    }
    expect(bad).toEqual([]);
    expect(float32ToBfloat16Bits(3.4028234663852886e38)).toBe(0x7f80); // max float32 rounds up to infinity
    expect(float32ToBfloat16Bits(Number.NaN) & 0x7fff).toBeGreaterThan(0x7f80);
    expect(Array.from(float32ArrayToBfloat16([1, -2]))).toEqual([0x3f80, 0xc000]);
  });
});
