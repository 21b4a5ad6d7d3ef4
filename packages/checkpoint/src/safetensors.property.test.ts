import { SeededRandom } from '@andes/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dtypeSize, type HostTensor, type SafetensorsDtype, shapeSize, typedView } from './dtypes.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

const dtypes: SafetensorsDtype[] = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U64',
  'U32',
  'U16',
  'U8',
  'BOOL',
];

/** A random tensor: any dtype, rank 0-4 with awkward (incl. zero) dims, random bytes as data. */
const tensorArb = fc
  .record({
    dtype: fc.constantFrom(...dtypes),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
    seed: fc.integer(),
  })
  .map(({ dtype, shape, seed }): HostTensor => {
    const bytes = new Uint8Array(shapeSize(shape) * dtypeSize(dtype));
    const rng = new SeededRandom(seed);
    for (let i = 0; i < bytes.length; i++) bytes[i] = dtype === 'BOOL' ? rng.int(2) : rng.int(256);
    return { dtype, shape, data: typedView(dtype, bytes) };
  });

const namedArb = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 12 }).filter((n) => n !== '__metadata__' && n !== '__proto__'),
  tensorArb,
  { maxKeys: 6 },
);

describe('safetensors properties', () => {
  it('decode(encode(x)) = x for random names (unicode, quotes), dtypes and shapes', () => {
    fc.assert(
      fc.property(namedArb, fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), (tensors, metadata) => {
        const bytes = encodeSafetensors(tensors, metadata);
        const back = decodeSafetensors(bytes);
        expect(Object.fromEntries(back.tensors)).toEqual(tensors);
        expect(back.metadata).toEqual(metadata);
      }),
      { numRuns: 200 },
    );
  });

  it('any corruption of the header bytes decodes to valid tensors or throws an Error, never anything else', () => {
    fc.assert(
      fc.property(namedArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (tensors, at, byte) => {
        const bytes = encodeSafetensors(tensors);
        const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
        const corrupted = bytes.slice();
        corrupted[at % headerEnd] = byte;
        try {
          const back = decodeSafetensors(corrupted, 'fuzz.safetensors');
          for (const t of back.tensors.values())
            expect(t.data.byteLength).toBe(shapeSize(t.shape) * dtypeSize(t.dtype));
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(/^safetensors fuzz\.safetensors: /);
        }
      }),
      { numRuns: 500 },
    );
  });
});
