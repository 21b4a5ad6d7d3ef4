import { afterEach, describe, expect, it, vi } from 'vitest';

// Each case imports a fresh copy of the module: its environment reading and detection are cached per module.
const fresh = async () => {
  vi.resetModules();
  return import('./wasm-relaxed-simd.js');
};

describe('WebAssembly relaxed SIMD detection and switch', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.runIf(typeof process.getBuiltinModule === 'function')(
    'is on in Node ≥ 20.16 (the flag set at run time where needed) unless ANDES_WASM_RELAXED_SIMD=off',
    async () => {
      vi.stubEnv('ANDES_WASM_RELAXED_SIMD', '');
      const on = await fresh();
      // Node ≥ 20.16 has process.getBuiltinModule and V8 ≥ 11.3 accepts the flag: detection must succeed there.
      expect(on.relaxedSimdSupported()).toBe(true);
      expect(on.wasmRelaxedSimd()).toBe(true);
      vi.stubEnv('ANDES_WASM_RELAXED_SIMD', 'OFF');
      const off = await fresh();
      expect(off.relaxedSimdSupported()).toBe(true);
      expect(off.wasmRelaxedSimd()).toBe(false);
    },
  );

  it('setWasmRelaxedSimd overrides the environment and returns the previous choice', async () => {
    vi.stubEnv('ANDES_WASM_RELAXED_SIMD', 'off');
    const m = await fresh();
    expect(m.setWasmRelaxedSimd(true)).toBeUndefined();
    expect(m.wasmRelaxedSimd()).toBe(true);
    expect(m.setWasmRelaxedSimd(false)).toBe(true);
    expect(m.wasmRelaxedSimd()).toBe(false);
    expect(m.setWasmRelaxedSimd(undefined)).toBe(false);
    expect(m.wasmRelaxedSimd()).toBe(false); // the environment again
  });

  it.runIf(typeof process.getBuiltinModule === 'function')(
    'the relaxed dot is exact for 7-bit operands: i16 lane i = a[2i]·b[2i] + a[2i+1]·b[2i+1]',
    async () => {
      const m = await fresh();
      expect(m.relaxedSimdSupported()).toBe(true);
      // (a, b) → relaxed dot, stored at address 0 of an exported memory: int8 a in [-128, 127], b in [0, 127].
      const body = [
        0,
        ...[0x41, 0], // i32.const 0 (store address)
        ...[0x41, 0, 0xfd, 0x00, 4, 16], // v128.load offset 16 (a)
        ...[0x41, 0, 0xfd, 0x00, 4, 32], // v128.load offset 32 (b)
        ...[0xfd, 0x92, 0x02], // i16x8.relaxed_dot_i8x16_i7x16_s
        ...[0xfd, 0x0b, 4, 0], // v128.store
        0x0b,
      ];
      const bytes = new Uint8Array([
        ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
        ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00],
        ...[0x03, 0x02, 0x01, 0x00],
        ...[0x05, 0x03, 0x01, 0x00, 0x01],
        ...[0x07, 0x0d, 0x02, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x03, 0x64, 0x6f, 0x74, 0x00, 0x00],
        ...[0x0a, body.length + 2, 0x01, body.length, ...body],
      ]);
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes));
      const memory = exports.mem as WebAssembly.Memory;
      let seed = 7;
      const next = () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed >>> 16;
      };
      for (let trial = 0; trial < 50; trial++) {
        const a = Int8Array.from({ length: 16 }, (_, i) => (trial === 0 && i < 2 ? -128 : (next() % 256) - 128));
        const b = Uint8Array.from({ length: 16 }, (_, i) => (trial === 0 && i < 2 ? 127 : next() % 128));
        new Int8Array(memory.buffer, 16, 16).set(a);
        new Uint8Array(memory.buffer, 32, 16).set(b);
        (exports.dot as () => void)();
        const got = Array.from(new Int16Array(memory.buffer, 0, 8));
        const want = Array.from({ length: 8 }, (_, i) => a[2 * i]! * b[2 * i]! + a[2 * i + 1]! * b[2 * i + 1]!);
        expect(got).toEqual(want);
      }
    },
  );
});
