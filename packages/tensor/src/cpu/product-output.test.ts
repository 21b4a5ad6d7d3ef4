import { describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { packSamplingRows, type TokenSampling } from '../ops/sample-tokens.js';
import { makeRng, randomRef } from '../testing/reference.js';
import { createCpuBackend } from './index.js';
import { matmul } from './matmul.js';
import { productOutput, wasmMatmul } from './matmul-wasm.js';
import { sampleTokens } from './sample-tokens.js';
import { CpuStorage, cpuData } from './storage.js';
import { allocateOnHeap, heapBlock, heapBytesInUse, releaseCpuStorage, rowAddress } from './wasm-heap.js';
import { wasmTile } from './wasm-tile.js';

/** `size` normal float32s times `scale`. */
const randomData = (rng: () => number, size: number, scale = 1): Float32Array =>
  Float32Array.from(randomRef(rng, [size]).data, (v) => scale * v);

/** A [N, K] weight used twice as b, so that it lives in wasm memory (wasm-heap.ts). */
function placedWeight(rng: () => number, N: number, K: number): CpuStorage {
  const w = new CpuStorage('float32', randomData(rng, N * K));
  const x: View = { storage: new CpuStorage('float32', randomData(rng, K)), shape: [1, K], strides: [K, 1], offset: 0 };
  matmul(x, transposed(w, K, N), []);
  matmul(x, transposed(w, K, N), []);
  expect(heapBlock(w)).toBeDefined();
  return w;
}

/** The first maximum of row r of a [rows, V] storage. */
function best(s: CpuStorage, r: number, V: number): number {
  const row = (s.data as Float32Array).subarray(r * V, (r + 1) * V);
  let at = 0;
  for (let i = 1; i < V; i++) if (row[i]! > row[at]!) at = i;
  return at;
}

const transposed = (w: CpuStorage, K: number, N: number): View => ({
  storage: w,
  shape: [K, N],
  strides: [1, K],
  offset: 0,
});

// A decode step's products by a weight in wasm memory (the LM head above all) write their outputs there in place,
// and the draws read logits rows there without copying them (matmul.ts, matmul-wasm.ts, wasm-heap.ts).
describe.skipIf(!wasmTile()?.shared)('cpu products written in place in wasm memory', () => {
  const rng = makeRng(5);
  const [K, N] = [64, 16384];
  const w = placedWeight(rng, N, K);

  it('writes the floats the work area would, for row counts around the tiles, inside its own block', () => {
    const wasm = wasmTile()!;
    for (const M of [1, 2, 3, 5, 6, 7, 16, 17, 64]) {
      const x = randomData(rng, M * K);
      const view: View = { storage: new CpuStorage('float32', x), shape: [M, K], strides: [K, 1], offset: 0 };
      const out = matmul(view, transposed(w, K, N), []) as CpuStorage;
      expect(heapBlock(out), `M ${M}`).toBeDefined();
      // The same product through the work area and copied out (no block given).
      const viaWork = new Float32Array(M * N);
      expect(wasmMatmul(x, [0], w.data as Float32Array, [0], true, w, viaWork, M, K, N)).toBe(true);
      expect(Array.from(cpuData(out)), `M ${M}`).toEqual(Array.from(viaWork));
      // Padding rows stay in the output's block: a storage placed right after it keeps its contents.
      const direct = allocateOnHeap(M * N, Math.ceil(M / 4) * 4 * N)!;
      const after = allocateOnHeap(4096, 4096)!;
      expect(heapBlock(after)!.start).toBe(heapBlock(direct)!.start + heapBlock(direct)!.floats);
      (after.data as Float32Array).fill(7.25);
      const directData = direct.data as Float32Array;
      expect(wasmMatmul(x, [0], w.data as Float32Array, [0], true, w, directData, M, K, N, heapBlock(direct))).toBe(
        true,
      );
      expect(Array.from(directData), `M ${M}`).toEqual(Array.from(viaWork));
      expect(
        (after.data as Float32Array).every((v) => v === 7.25),
        `M ${M}`,
      ).toBe(true);
      expect(wasm.memory.buffer.byteLength).toBeGreaterThan(4 * heapBlock(after)!.start);
    }
  });

  it('places only one-batch products of up to 64 rows by a weight in wasm memory', () => {
    expect(productOutput(65, N, 1, w)).toBeUndefined();
    expect(productOutput(4, N, 2, w)).toBeUndefined();
    expect(productOutput(1, 1000, 1, w)).toBeUndefined(); // small: copying it out costs less than placing it
    expect(productOutput(4, N, 1, new CpuStorage('float32', new Float32Array(N * K)))).toBeUndefined();
    const placed = productOutput(4, N, 1, w)!;
    expect(placed.size).toBe(4 * N);
    expect(heapBlock(placed)!.floats).toBe(4 * N);
  });

  it("returns an output's block to the heap when the backend frees it", () => {
    const backend = createCpuBackend();
    const x: View = {
      storage: new CpuStorage('float32', randomData(rng, 3 * K)),
      shape: [3, K],
      strides: [K, 1],
      offset: 0,
    };
    const out = backend.matmul(x, transposed(w, K, N), []) as CpuStorage;
    const block = heapBlock(out)!;
    const used = heapBytesInUse();
    backend.free(out);
    expect(heapBytesInUse()).toBe(used - 4 * block.floats);
  });

  it('gives the blocks of products placed inside linearParts back to the heap', () => {
    const [M, K2, N2] = [2, 64, 8192];
    const weight = new CpuStorage('float32', randomData(rng, N2 * K2));
    const x: View = {
      storage: new CpuStorage('float32', randomData(rng, M * K2)),
      shape: [M, K2],
      strides: [K2, 1],
      offset: 0,
    };
    const part: View = { storage: weight, shape: [N2, K2], strides: [K2, 1], offset: 0 };
    const backend = createCpuBackend();
    const used = heapBytesInUse();
    // The first call's product notes the weight, the second's moves it into wasm memory and gets a placed output.
    const outs = [0, 1].map(() => backend.linearParts!(x, [part], null) as CpuStorage);
    expect(heapBlock(weight)).toBeDefined();
    expect(heapBytesInUse()).toBe(used + 4 * heapBlock(weight)!.floats);
    expect(Array.from(cpuData(outs[1]!))).toEqual(Array.from(cpuData(outs[0]!)));
  });

  it('declines to place more than 64 MiB of live outputs, and places again once they are freed', () => {
    const live: CpuStorage[] = [];
    for (const floats of [1 << 20, 1 << 14]) {
      for (let s = allocateOnHeap(floats, floats); s; s = allocateOnHeap(floats, floats)) {
        live.push(s);
        expect(live.length).toBeLessThanOrEqual(16 + 64);
      }
    }
    expect(live.length).toBeGreaterThan(0);
    // A product now gets a JS array, with the same floats.
    const x: View = {
      storage: new CpuStorage('float32', randomData(rng, 2 * K)),
      shape: [2, K],
      strides: [K, 1],
      offset: 0,
    };
    const unplaced = matmul(x, transposed(w, K, N), []) as CpuStorage;
    expect(heapBlock(unplaced)).toBeUndefined();
    for (const s of live) releaseCpuStorage(s);
    const placed = matmul(x, transposed(w, K, N), []) as CpuStorage;
    expect(heapBlock(placed)).toBeDefined();
    expect(Array.from(cpuData(placed))).toEqual(Array.from(cpuData(unplaced)));
    releaseCpuStorage(placed);
  });

  it('draws from rows in place the tokens and log-probabilities of the same rows on the JS heap', () => {
    const V = 32000;
    const head = placedWeight(rng, V, K);
    const M = 7;
    const x: View = {
      storage: new CpuStorage('float32', randomData(rng, M * K, 0.5)),
      shape: [M, K],
      strides: [K, 1],
      offset: 0,
    };
    const logits = matmul(x, transposed(head, K, V), []) as CpuStorage;
    expect(heapBlock(logits)).toBeDefined();
    const copy = new CpuStorage('float32', (logits.data as Float32Array).slice());
    const settings: TokenSampling[] = [
      { temperature: 0, topK: 0, topP: 1, uniform: 0 },
      { temperature: 0.8, topK: 0, topP: 1, uniform: 0.37 },
      { temperature: 1.3, topK: 40, topP: 1, uniform: 0.91 },
      { temperature: 0.7, topK: 0, topP: 0.9, uniform: 0.12 },
      { temperature: 1, topK: 0, topP: 1, uniform: 0.58, presencePenalty: 0.5, counts: new Map([[3, 2]]) },
      { temperature: 0.5, topK: 8, topP: 0.8, uniform: 0.73 },
      // Row 6, greedy with a logit bias on its own best token: the draw must see it, the logits keep theirs.
      { temperature: 0, topK: 0, topP: 1, uniform: 0, logitBias: new Map([[best(logits, 6, V), -100]]) },
    ];
    const rows = packSamplingRows(settings, V);
    const view = (s: CpuStorage): View => ({ storage: s, shape: [M, V], strides: [V, 1], offset: 0 });
    const raw = copy.data.slice();
    const inPlace = sampleTokens(view(logits), rows, 3);
    const onJsHeap = sampleTokens(view(copy), rows, 3);
    for (const key of ['ids', 'logprob', 'topIds', 'topLogprobs'] as const) {
      expect(Array.from(cpuData(inPlace[key]!)), key).toEqual(Array.from(cpuData(onJsHeap[key]!)));
    }
    // Entries are applied to the row in place for its draw, then put back: the logits are unchanged.
    expect(Array.from(logits.data)).toEqual(Array.from(raw));
    expect(Array.from(copy.data)).toEqual(Array.from(raw));
    const ids = cpuData(inPlace.ids);
    expect(ids[6]).not.toBe(best(logits, 6, V));
    expect(ids[0]).toBe(best(logits, 0, V));
    // The rows really were read in place: their addresses are their own, not the work area's copy at 0.
    const wasm = wasmTile()!;
    const row = (logits.data as Float32Array).subarray(V, 2 * V);
    expect(rowAddress(wasm.memory, row, V, 64, Number.NEGATIVE_INFINITY)).toBe(row.byteOffset);
    expect(row.byteOffset).toBeGreaterThan(0);
  });

  it('copies a row that is not in wasm memory or not whole groups, padded to whole groups', () => {
    const wasm = wasmTile()!;
    const js = randomData(rng, 100);
    expect(rowAddress(wasm.memory, js, 100, 64, Number.NEGATIVE_INFINITY)).toBe(0);
    const f = new Float32Array(wasm.memory.buffer, 0, 128);
    expect(Array.from(f.subarray(0, 100))).toEqual(Array.from(js));
    expect(f.subarray(100).every((v) => v === Number.NEGATIVE_INFINITY)).toBe(true);
    const placed = allocateOnHeap(100, 100)!;
    (placed.data as Float32Array).set(js.map((v) => v + 1));
    expect(rowAddress(wasm.memory, placed.data as Float32Array, 100, 64, -1)).toBe(0);
    expect(f[0]).toBe(Math.fround(js[0]! + 1));
    expect(f[127]).toBe(-1);
    expect(rowAddress(wasm.memory, placed.data as Float32Array, 100, 4, -1)).toBe(placed.data.byteOffset);
  });
});
