import { describe, expect, it } from 'vitest';
import { mulhi32, philox4x32, philoxFill } from './philox.js';

describe('philox4x32-10', () => {
  // Random123 kat_vectors: counter (4 words), key (2 words) → output (4 words).
  const kat: [number[], number[], number[]][] = [
    [
      [0, 0, 0, 0],
      [0, 0],
      [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
    ],
    [
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
    ],
    [
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      [0xa4093822, 0x299f31d0],
      [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
    ],
  ];
  it.each(kat)('matches the known-answer vector for counter %j', (c, k, expected) => {
    const out = philox4x32(c[0]!, c[1]!, c[2]!, c[3]!, k[0]!, k[1]!, new Uint32Array(4));
    expect(Array.from(out)).toEqual(expected);
  });

  it('mulhi32 agrees with BigInt multiplication', () => {
    let s = 12345;
    for (let i = 0; i < 2000; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const a = s;
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const b = i % 10 === 0 ? 0xffffffff : s;
      expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
    }
  });

  it('element i depends only on (seed, offset + i), across the 2^32 counter carry', () => {
    const whole = philoxFill('normal', new Float32Array(10), 7, 2 ** 32 - 5);
    const tail = philoxFill('normal', new Float32Array(5), 7, 2 ** 32);
    expect(Array.from(whole.subarray(5))).toEqual(Array.from(tail));
    const other = philoxFill('normal', new Float32Array(10), 8, 2 ** 32 - 5);
    expect(Array.from(other)).not.toEqual(Array.from(whole));
  });

  it('uniform is in [0, 1) with mean 1/2 and normal has mean 0, variance 1', () => {
    const n = 20000;
    const u = philoxFill('uniform', new Float32Array(n), 1, 0);
    const z = philoxFill('normal', new Float32Array(n), 1, 0);
    let su = 0;
    let sz = 0;
    let szz = 0;
    for (let i = 0; i < n; i++) {
      expect(u[i]).toBeGreaterThanOrEqual(0);
      expect(u[i]).toBeLessThan(1);
      su += u[i]!;
      sz += z[i]!;
      szz += z[i]! * z[i]!;
    }
    expect(su / n).toBeCloseTo(0.5, 1);
    expect(sz / n).toBeCloseTo(0, 1);
    expect(szz / n).toBeCloseTo(1, 1);
  });
});
