import type { RopeStyle, Storage, View } from '../backend/backend.js';
import { cpuMatmulKernels } from './matmul.js';
import { allocCpu, readView } from './storage.js';
import { simdRopeHalf } from './wasm-rope.js';

/**
 * Rotary embedding on x [B, T, H, Dh]. Pair i (0 ≤ i < Dh/2) is (2i, 2i+1) for 'interleaved' and (i, i + Dh/2) for
 * 'half'; its angle at position p is p · theta^(−2i/Dh), negated when `inverse`.
 */
export function rope(x: View, positions: View, theta: number, style: RopeStyle, inverse: boolean): Storage {
  const [B, T, H, Dh] = x.shape as [number, number, number, number];
  const src = readView(x);
  const pos = readView(positions);
  const perBatch = positions.shape.length === 2;
  const half = Dh / 2;
  // Not zeroed: the pairs cover every element (Dh is even).
  const out = allocCpu('float32', src.length, false);
  const o = out.data as Float32Array; // a typed local (see rms-norm.ts)
  const sign = inverse ? -1 : 1;
  const table = angleTable(theta, Dh);
  // Pair (i0, i0 + step) at i0 = base + i·stride: 'interleaved' (2i, 2i + 1), 'half' (i, i + Dh/2). Two loops with
  // these as numbers instead of a style test per element, which V8 kept in the loop (~7 ns per pair, 2026-12-05).
  // The forward 'half' layout on the SIMD kernel (the same float64 arithmetic, so the same floats), where chosen.
  if (style === 'half' && !inverse && cpuMatmulKernels() === 'wasm') {
    const angles = (row: number) => table.row(pos[perBatch ? row : row % T]!);
    if (simdRopeHalf(src as Float32Array, B * T, H, Dh, angles, o)) return out;
  }
  const stride = style === 'interleaved' ? 2 : 1;
  const step = style === 'interleaved' ? 1 : half;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const p = pos[perBatch ? b * T + t : t]!;
      // cos and sin of one position's angles, shared by its H heads (a decode row has H · Dh / 2 pairs, Dh / 2 angles).
      const { cos, sin, at } = table.row(p);
      for (let h = 0; h < H; h++) {
        const base = ((b * T + t) * H + h) * Dh;
        for (let i = 0; i < half; i++) {
          const c = cos[at + i]!;
          const s = sign * sin[at + i]!;
          const i0 = base + i * stride;
          const x0 = src[i0]!;
          const x1 = src[i0 + step]!;
          o[i0] = x0 * c - x1 * s;
          o[i0 + step] = x0 * s + x1 * c;
        }
      }
    }
  }
  return out;
}

/** Positions whose cos/sin rows an {@link AngleTable} keeps; rows of later positions are computed per call. */
const TABLE_POSITIONS = 4096;

/**
 * cos and sin of p · theta^(−2i/Dh) for i < Dh/2, by position p, computed once per (theta, Dh) and position: a decode
 * step rotates q and k of every layer at the same position, so each row is reused 2 · layers times per step, and the
 * values are the same Math.cos / Math.sin of the same float64 angle as computing them afresh.
 */
class AngleTable {
  readonly half: number;
  readonly invFreq: Float64Array;
  cos = new Float64Array(0);
  sin = new Float64Array(0);
  known = new Uint8Array(0);
  /** Scratch row for positions past the table (and negative ones), recomputed per call. */
  readonly scratch: { cos: Float64Array; sin: Float64Array; at: number };

  constructor(theta: number, Dh: number) {
    this.half = Dh / 2;
    this.invFreq = new Float64Array(this.half);
    for (let i = 0; i < this.half; i++) this.invFreq[i] = theta ** ((-2 * i) / Dh);
    this.scratch = { cos: new Float64Array(this.half), sin: new Float64Array(this.half), at: 0 };
  }

  /** Row p's cos and sin at offset `at` of the returned arrays. */
  row(p: number): { cos: Float64Array; sin: Float64Array; at: number } {
    const { half } = this;
    if (!(p >= 0 && p < TABLE_POSITIONS && Number.isInteger(p))) {
      this.fill(this.scratch.cos, this.scratch.sin, 0, p);
      return this.scratch;
    }
    if (p >= this.known.length) this.grow(p + 1);
    const at = p * half;
    if (this.known[p] === 0) {
      this.fill(this.cos, this.sin, at, p);
      this.known[p] = 1;
    }
    return { cos: this.cos, sin: this.sin, at };
  }

  private fill(cos: Float64Array, sin: Float64Array, at: number, p: number): void {
    for (let i = 0; i < this.half; i++) {
      const angle = p * this.invFreq[i]!;
      cos[at + i] = Math.cos(angle);
      sin[at + i] = Math.sin(angle);
    }
  }

  private grow(positions: number): void {
    const n = Math.min(TABLE_POSITIONS, Math.max(positions, 2 * this.known.length, 64));
    const cos = new Float64Array(n * this.half);
    const sin = new Float64Array(n * this.half);
    const known = new Uint8Array(n);
    cos.set(this.cos);
    sin.set(this.sin);
    known.set(this.known);
    this.cos = cos;
    this.sin = sin;
    this.known = known;
  }
}

const tables = new Map<string, AngleTable>();

/** The angle table of (theta, Dh), made on first use. */
function angleTable(theta: number, Dh: number): AngleTable {
  const key = `${theta}/${Dh}`;
  let table = tables.get(key);
  if (!table) {
    table = new AngleTable(theta, Dh);
    tables.set(key, table);
  }
  return table;
}
