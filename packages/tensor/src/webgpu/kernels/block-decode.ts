/**
 * WGSL that decodes block weights in the word layout of `../block-layout.ts`, shared by every block-matmul kernel.
 * A block is cut into *units* (one payload word, or Q6_K's three words that hold 16 values); a *span* is the run of
 * units that share one set of scales. A kernel accumulates `Σ q·x` per scale slot over some units of a span, then
 * applies the span's scales once ({@link groupCode}), so scales cost per span, not per weight.
 *
 * Nibbles and 6-bit values are taken with one mask each and converted in place (`f32(i32(w & 0xF00u))` is q·2⁸,
 * exact), and the matching x is pre-scaled by 2⁻⁸ (exact too): one AND, one convert and one FMA per weight. Offsets
 * (Q4_0's −8, Q6_K's −32) and Q4_K's mins come out of the sums as `offset · Σx`, computed once per x row and span.
 *
 * @module
 */

import type { BlockType } from '../../backend/backend.js';

/** Parameter words every block-matmul kernel receives: sizes, x's offset and the word layout of the weight. */
export const BLOCK_PARAMS = { n: 0, k: 1, m: 2, xOffset: 3, blocks: 4, rowWords: 5, auxOffset: 6, halfOffset: 7 };

/** One decoded value of a unit. */
interface UnitValue {
  /** f32 WGSL expression (q, possibly times a power of two). */
  expr: string;
  /** Element offset inside the block (WGSL u32 expression). */
  elem: string;
  /** The power of two x is multiplied by to undo the scale in `expr`. */
  xs: number;
  /** Partial-sum slot the product goes to. */
  slot: number;
  /** x-sum slot (for offsets and mins), or null. */
  sum: number | null;
}

/** How one format is cut and decoded. */
interface FormatCode {
  /** Units per block, units per span, x elements per block, payload words per block. */
  units: number;
  span: number;
  elems: number;
  /** Partial sums per row and x-sum slots per x row. */
  slots: number;
  sums: number;
  /** WGSL `let`s (names prefixed by `v`) and the values of unit `u` of the block whose payload starts at word `pb`. */
  unit(u: string, pb: string, v: string): { lets: string[]; values: UnitValue[] };
  /** f32 WGSL expression: the span's contribution from partials `p` and x sums `sx`, block index `rb`, span `sp`. */
  apply(rb: string, sp: string, p: string[], sx: string[]): string;
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}u`;

/** The 8 nibbles of word `w`: low nibbles are elements `lo + t`, high nibbles `hi + t` (Q4_0, Q4_K). */
function nibbles(w: string, lo: string, hi: string): UnitValue[] {
  const out: UnitValue[] = [];
  for (let t = 0; t < 4; t++) {
    out.push({
      expr: `f32(i32(${w} & ${hex(0xf << (8 * t))}))`,
      elem: `${lo} + ${t}u`,
      xs: 2 ** (-8 * t),
      slot: 0,
      sum: 0,
    });
    out.push(
      t < 3
        ? {
            expr: `f32(i32(${w} & ${hex(0xf0 << (8 * t))}))`,
            elem: `${hi} + ${t}u`,
            xs: 2 ** (-8 * t - 4),
            slot: 1,
            sum: 1,
          }
        : { expr: `f32(i32(${w} >> 28u))`, elem: `${hi} + 3u`, xs: 1, slot: 1, sum: 1 },
    );
  }
  return out;
}

/**
 * A format whose unit is one payload word (all but Q6_K): the word is loaded (and `load` applied to it) into `v`,
 * and `values` decodes it.
 */
function wordFormat(
  shape: Omit<FormatCode, 'unit'>,
  values: (v: string, u: string) => UnitValue[],
  load: (word: string) => string = (word) => word,
): FormatCode {
  return {
    ...shape,
    unit: (u, pb, v) => ({ lets: [`let ${v} = ${load(`W[${pb} + ${u}]`)};`], values: values(v, u) }),
  };
}

/** The two elements of a half-float word (F16, BF16): `lo` and `hi` decode its low and high half. */
function halfWordFormat(lo: (v: string) => string, hi: (v: string) => string, load?: (w: string) => string) {
  return wordFormat(
    { units: 1, span: 1, elems: 2, slots: 1, sums: 0, apply: (_rb, _sp, p) => p[0]! },
    (v) => [
      { expr: lo(v), elem: '0u', xs: 1, slot: 0, sum: null },
      { expr: hi(v), elem: '1u', xs: 1, slot: 0, sum: null },
    ],
    load,
  );
}

const FORMATS: Record<BlockType, FormatCode> = {
  F16: halfWordFormat(
    (v) => `${v}.x`,
    (v) => `${v}.y`,
    (w) => `unpack2x16float(${w})`,
  ),
  BF16: halfWordFormat(
    (v) => `bitcast<f32>(${v} << 16u)`,
    (v) => `bitcast<f32>(${v} & 0xffff0000u)`,
  ),
  // int8 lanes by shift pairs (sign-extending), no x scaling.
  Q8_0: wordFormat(
    { units: 8, span: 8, elems: 32, slots: 1, sums: 0, apply: (rb, _sp, p) => `halfAt(${rb}) * ${p[0]}` },
    (v, u) =>
      [0, 1, 2, 3].map((t) => ({
        expr: t < 3 ? `f32(i32(${v} << ${24 - 8 * t}u) >> 24u)` : `f32(i32(${v}) >> 24u)`,
        elem: `${u} * 4u + ${t}u`,
        xs: 1,
        slot: 0,
        sum: null,
      })),
  ),
  // Word u: bytes 4u..4u+3 → elements 4u + t (low nibbles) and 16 + 4u + t (high). w = d·(q − 8).
  Q4_0: wordFormat(
    {
      units: 4,
      span: 4,
      elems: 32,
      slots: 2,
      sums: 1,
      apply: (rb, _sp, p, sx) => `halfAt(${rb}) * (${p[0]} + ${p[1]} - 8.0 * ${sx[0]})`,
    },
    (v, u) => nibbles(v, `${u} * 4u`, `16u + ${u} * 4u`).map((q) => ({ ...q, sum: 0 })),
  ),
  // Span s (8 words): low nibbles are sub-block 2s, high nibbles 2s + 1. w = d·sc·q − dmin·m.
  Q4_K: wordFormat(
    {
      units: 32,
      span: 8,
      elems: 256,
      slots: 2,
      sums: 2,
      apply: (rb, sp, p, sx) => `q4kApply(${rb}, ${sp}, ${p[0]}, ${p[1]}, ${sx[0]}, ${sx[1]})`,
    },
    (v, u) => nibbles(v, `(${u} >> 3u) * 64u + (${u} & 7u) * 4u`, `(${u} >> 3u) * 64u + 32u + (${u} & 7u) * 4u`),
  ),
  // Unit u = (half h, column c): ql words a (bytes 64h + 4c) and b (+32), qh word (128 + 32h + 4c) give four 6-bit
  // values per byte position, elements 128h + 32j + 4c + t for j = 0..3, in sub-blocks 8h + c/4 + 2j. w = d·sc·(q − 32).
  Q6_K: {
    units: 16,
    span: 4,
    elems: 256,
    slots: 4,
    sums: 4,
    unit: (u, pb, v) => {
      const h = `(${u} >> 3u)`;
      const c = `(${u} & 7u)`;
      const lets = [
        `let ${v}a = W[${pb} + ${h} * 16u + ${c}];`,
        `let ${v}b = W[${pb} + ${h} * 16u + 8u + ${c}];`,
        `let ${v}h = W[${pb} + 32u + ${h} * 8u + ${c}];`,
        `let ${v}0 = (${v}a & 0x0f0f0f0fu) | ((${v}h & 0x03030303u) << 4u);`,
        `let ${v}1 = (${v}b & 0x0f0f0f0fu) | ((${v}h & 0x0c0c0c0cu) << 2u);`,
        `let ${v}2 = ((${v}a >> 4u) & 0x0f0f0f0fu) | (${v}h & 0x30303030u);`,
        `let ${v}3 = ((${v}b >> 4u) & 0x0f0f0f0fu) | ((${v}h >> 2u) & 0x30303030u);`,
      ];
      const values: UnitValue[] = [];
      for (let j = 0; j < 4; j++) {
        for (let t = 0; t < 4; t++) {
          values.push({
            expr: `f32(i32(${v}${j} & ${hex(0xff << (8 * t))}))`,
            elem: `${h} * 128u + ${32 * j + t}u + ${c} * 4u`,
            xs: 2 ** (-8 * t),
            slot: j,
            sum: j,
          });
        }
      }
      return { lets, values };
    },
    apply: (rb, sp, p, sx) => `q6kApply(${rb}, ${sp}, ${p.join(', ')}, ${sx.join(', ')})`,
  },
};

/** Units per block, units per span and x elements per block of a format. */
export function formatGeometry(type: BlockType): { units: number; span: number; elems: number } {
  const f = FORMATS[type];
  return { units: f.units, span: f.span, elems: f.elems };
}

/**
 * WGSL helpers every block kernel includes: bindings (`out`, the input `input` at binding 2, the weight `W`), the f16
 * scale reader and the K-quant scale appliers.
 */
export function decodeHelpers(input = 'x: array<f32>'): string {
  const { auxOffset, halfOffset } = BLOCK_PARAMS;
  return `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> ${input};
@group(0) @binding(3) var<storage, read> W: array<u32>;
fn halfAt(i: u32) -> f32 { return unpack2x16float(W[pu(${halfOffset}u) + (i >> 1u)] >> ((i & 1u) * 16u)).x; }
fn scaleByte(ab: u32, j: u32) -> u32 { return (W[ab + 1u + (j >> 2u)] >> ((j & 3u) * 8u)) & 255u; }
// Q4_K's 6-bit (scale, min) of sub-block j from the 12 bytes after d and dmin (ggml's get_scale_min_k4).
fn q4kScaleMin(ab: u32, j: u32) -> vec2<f32> {
  if (j < 4u) { return vec2<f32>(f32(scaleByte(ab, j) & 63u), f32(scaleByte(ab, j + 4u) & 63u)); }
  let lo = scaleByte(ab, j + 4u);
  return vec2<f32>(f32((lo & 15u) | ((scaleByte(ab, j - 4u) >> 6u) << 4u)),
                   f32((lo >> 4u) | ((scaleByte(ab, j) >> 6u) << 4u)));
}
fn q4kApply(rb: u32, sp: u32, p0: f32, p1: f32, s0: f32, s1: f32) -> f32 {
  let ab = pu(${auxOffset}u) + rb * 4u;
  let dm = unpack2x16float(W[ab]);
  let a = q4kScaleMin(ab, 2u * sp);
  let c = q4kScaleMin(ab, 2u * sp + 1u);
  return dm.x * (a.x * p0 + c.x * p1) - dm.y * (a.y * s0 + c.y * s1);
}
fn q6kScale(ab: u32, i: u32) -> f32 { return f32(i32(W[ab + (i >> 2u)] << (24u - 8u * (i & 3u))) >> 24u); }
fn q6kApply(rb: u32, sp: u32, p0: f32, p1: f32, p2: f32, p3: f32, s0: f32, s1: f32, s2: f32, s3: f32) -> f32 {
  let ab = pu(${auxOffset}u) + rb * 4u;
  let i0 = (sp >> 1u) * 8u + (sp & 1u);
  return halfAt(rb) * (q6kScale(ab, i0) * (p0 - 32.0 * s0) + q6kScale(ab, i0 + 2u) * (p1 - 32.0 * s1)
    + q6kScale(ab, i0 + 4u) * (p2 - 32.0 * s2) + q6kScale(ab, i0 + 6u) * (p3 - 32.0 * s3));
}`;
}

/** Units of one span a group covers: WGSL expressions (unrolled), or a loop over `count` units from `first`. */
export type UnitRange = readonly string[] | { first: string; count: number };

/**
 * WGSL block that adds, for weight rows j and x rows i, the dot products of units `units` (all in span `sp`) of one
 * block into `acc{j}_{i}`. A loop keeps the shader small (lavapipe's LLVM compile time grows fast with unrolled code). Expects `rb{j}` (row·blocks + block), `pb{j}` (first payload word of the
 * block) and `xb{i}` (index in x of the block's first element) in scope.
 */
export function groupCode(type: BlockType, units: UnitRange, sp: string, rows: number, xrows: number): string {
  const f = FORMATS[type];
  const L: string[] = ['{'];
  for (let j = 0; j < rows; j++)
    for (let i = 0; i < xrows; i++) for (let s = 0; s < f.slots; s++) L.push(`  var p${j}_${i}_${s} = 0.0;`);
  for (let i = 0; i < xrows; i++) for (let s = 0; s < f.sums; s++) L.push(`  var sx${i}_${s} = 0.0;`);
  const loop = 'count' in units ? units : null;
  const list = loop ? ['ui'] : (units as readonly string[]);
  if (loop) L.push(`  for (var uc = 0u; uc < ${loop.count}u; uc++) {\n  let ui = ${loop.first} + uc;`);
  for (const unit of list) {
    const u = `(${unit})`;
    L.push('  {');
    const probe = f.unit(u, 'pb0', 'w');
    probe.values.forEach((q, vi) => {
      for (let i = 0; i < xrows; i++) {
        L.push(`    let xr${i}_${vi} = x[xb${i} + ${q.elem}];`);
        if (q.sum !== null) L.push(`    sx${i}_${q.sum} += xr${i}_${vi};`);
        L.push(`    let xv${i}_${vi} = ${q.xs === 1 ? `xr${i}_${vi}` : `xr${i}_${vi} * ${q.xs}`};`);
      }
    });
    for (let j = 0; j < rows; j++) {
      const { lets, values } = f.unit(u, `pb${j}`, `w${j}_`);
      for (const l of lets) L.push(`    ${l}`);
      values.forEach((q, vi) => {
        const name = `q${j}_${vi}`;
        L.push(`    let ${name} = ${q.expr};`);
        for (let i = 0; i < xrows; i++) {
          const p = `p${j}_${i}_${q.slot}`;
          L.push(`    ${p} = fma(${name}, xv${i}_${vi}, ${p});`);
        }
      });
    }
    L.push('  }');
  }
  if (loop) L.push('  }');
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < xrows; i++) {
      const p = Array.from({ length: f.slots }, (_, s) => `p${j}_${i}_${s}`);
      const sx = Array.from({ length: f.sums }, (_, s) => `sx${i}_${s}`);
      L.push(`  acc${j}_${i} += ${f.apply(`rb${j}`, sp, p, sx)};`);
    }
  }
  L.push('}');
  return L.join('\n');
}

/**
 * WGSL statements that decode every weight of unit `u` (of span `sp`) of the block with row-block index `rb0` and
 * first payload word `pb0`, calling `store(elem, value)` for each: `elem` is the element's offset in the block, `value`
 * the weight as an f32 expression. The weight is the dot product's span formula with x one-hot at that element (the
 * value's partial set to q, its x sum to 1, every other slot 0), so the decode of each format lives only in FORMATS;
 * every step is exact but the format's own final rounding (as ggml's float32 dequantization rounds).
 */
export function unitWeightsCode(
  type: BlockType,
  u: string,
  sp: string,
  store: (elem: string, value: string) => string,
): string {
  const f = FORMATS[type];
  const { lets, values } = f.unit(`(${u})`, 'pb0', 'w');
  const L = lets.map((l) => `  ${l}`);
  for (const q of values) {
    const p = Array.from({ length: f.slots }, (_, s) =>
      s === q.slot ? (q.xs === 1 ? q.expr : `(${q.expr} * ${q.xs})`) : '0.0',
    );
    const sx = Array.from({ length: f.sums }, (_, s) => (s === q.sum ? '1.0' : '0.0'));
    L.push(`  ${store(q.elem, f.apply('rb0', sp, p, sx))}`);
  }
  return L.join('\n');
}
