/**
 * ggml tensor types as GGUF numbers them (`enum ggml_type`), with the block geometry of each type Andes reads:
 * how many elements one block holds and how many bytes it takes. Pure data, browser-safe.
 *
 * @module
 */

/** ggml type ids of the types Andes reads or writes (GGUF's `tensor_info.type`). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q8_0: 8,
  Q4_K: 12,
  Q6_K: 14,
  BF16: 30,
} as const;

/** One of the ggml types Andes handles. */
export type GgmlTypeName = keyof typeof GgmlType;

/** Elements per block and bytes per block of a ggml type. */
export interface GgmlBlockInfo {
  /** Elements in one block (1 for plain floats). */
  readonly blockSize: number;
  /** Bytes of one block. */
  readonly typeSize: number;
}

// Q8_0: f16 d + 32 int8. Q4_0: f16 d + 16 bytes of nibbles. Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit
// scales/mins, 128 bytes of nibbles. Q6_K: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8 scales, f16 d.
const blocks: Record<GgmlTypeName, GgmlBlockInfo> = {
  F32: { blockSize: 1, typeSize: 4 },
  F16: { blockSize: 1, typeSize: 2 },
  BF16: { blockSize: 1, typeSize: 2 },
  Q8_0: { blockSize: 32, typeSize: 34 },
  Q4_0: { blockSize: 32, typeSize: 18 },
  Q4_K: { blockSize: 256, typeSize: 144 },
  Q6_K: { blockSize: 256, typeSize: 210 },
};

// Names of the other ggml types, only so an error can say which unsupported type a file holds.
const otherNames: Record<number, string> = {
  3: 'Q4_1',
  6: 'Q5_0',
  7: 'Q5_1',
  9: 'Q8_1',
  10: 'Q2_K',
  11: 'Q3_K',
  13: 'Q5_K',
  15: 'Q8_K',
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  24: 'I8',
  25: 'I16',
  26: 'I32',
  27: 'I64',
  28: 'F64',
  29: 'IQ1_M',
};

const byId = new Map<number, GgmlTypeName>(
  Object.entries(GgmlType).map(([name, id]) => [id, name as GgmlTypeName] as const),
);

/** The name of a ggml type id (`Q4_K`, …), or `type <id>` for an id ggml does not define. */
export function ggmlTypeLabel(id: number): string {
  return byId.get(id) ?? otherNames[id] ?? `type ${id}`;
}

/** The Andes name of a ggml type id, or undefined when Andes does not handle that type. */
export function ggmlTypeName(id: number): GgmlTypeName | undefined {
  return byId.get(id);
}

/** Block geometry of a ggml type. */
export function ggmlBlockInfo(type: GgmlTypeName): GgmlBlockInfo {
  return blocks[type];
}

/**
 * Bytes `count` elements of `type` take.
 *
 * @throws Error when `count` is not a whole number of blocks.
 */
export function ggmlByteSize(type: GgmlTypeName, count: number): number {
  const { blockSize, typeSize } = blocks[type];
  if (count % blockSize !== 0) {
    throw new Error(`${type}: ${count} elements are not a whole number of ${blockSize}-element blocks`);
  }
  return (count / blockSize) * typeSize;
}
