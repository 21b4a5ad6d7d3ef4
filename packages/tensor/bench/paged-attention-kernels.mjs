// Variants of the CPU paged-attention kernel (src/cpu/wasm-attention.ts `attendRows`: keys per pass, far apart) on one
// thread, built into one shared memory so that they read the same pools, rounds interleaved: 16 decode
// rows of 16 sequences at contexts spread over LO–HI, blocks of 16 (shuffled), COPIES copies of the pools rotating
// (default ~64 MB: from DRAM, as a decode step finds them; COPIES=1: in cache). µs per call of all rows (median
// round; CPU time, steadier than wall on a shared machine) and G multiply-adds per CPU-second; every variant's outputs must equal within float32 rounding (else MISMATCH).
//
//   node packages/tensor/bench/paged-attention-kernels.mjs                    # after npm run build
//   VARIANTS=4,8 HEADS=12 D=64 COPIES=1 node packages/tensor/bench/paged-attention-kernels.mjs
import { loadavg } from 'node:os';
import { ATTEND, attendScratchBytes, attendStride } from '../dist/cpu/attention-kernel.js';
import { attentionModuleBytes } from '../dist/cpu/wasm-attention.js';

const HEADS = Number(process.env.HEADS ?? 6);
const KV_HEADS = Number(process.env.KV_HEADS ?? HEADS);
const D = Number(process.env.D ?? 48);
const [LO, HI] = [Number(process.env.LO ?? 16), Number(process.env.HI ?? 256)];
const VARIANTS = (process.env.VARIANTS ?? '4,8').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const CALLS = Number(process.env.CALLS ?? 40);
const BLOCK = 16;
const N = 16;

const keys = Array.from({ length: N }, (_, n) => LO + Math.round(((HI - LO) * n) / (N - 1)));
const most = Math.max(...keys);
const maxBlocks = Math.ceil(most / BLOCK);
const numBlocks = N * maxBlocks;
const poolBytes = numBlocks * BLOCK * KV_HEADS * D * 4;
const COPIES = Number(process.env.COPIES ?? Math.max(1, Math.round(64e6 / (2 * poolBytes))));
const rowFloats = HEADS * D;
const maxStreams = Math.max(...VARIANTS);
const scratchBytes = attendScratchBytes(HEADS, most, 4 * D, maxStreams);
// Bytes: params per variant at 0 (128 each), the row order at 3072, index at 4096, q, then per variant outputs and scratch; pools from 16 MB.
const idxAt = 4096;
const qAt = 65536;
const outAt = (v) => qAt + 4 * N * rowFloats * (1 + 2 * v);
const scratchAt = (v) => (4 << 20) + v * N * scratchBytes;
const POOLS = 16 << 20;
const mem = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
mem.grow(Math.ceil((POOLS + 2 * COPIES * poolBytes) / 65536));
const f = new Float32Array(mem.buffer);
const i32 = new Int32Array(mem.buffer);
let seed = 99;
const next = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
  return seed >>> 8;
};
for (let i = POOLS / 4; i < POOLS / 4 + (2 * COPIES * poolBytes) / 4; i++) f[i] = next() / 2 ** 24 - 0.5;
for (let i = 0; i < N * rowFloats; i++) f[qAt / 4 + i] = next() / 2 ** 24 - 0.5;
const order = Array.from({ length: numBlocks }, (_, i) => i);
for (let i = numBlocks - 1; i > 0; i--) {
  const j = next() % (i + 1);
  [order[i], order[j]] = [order[j], order[i]];
}
for (let n = 0; n < N; n++) [i32[idxAt / 4 + n], i32[idxAt / 4 + N + n], i32[3072 / 4 + n]] = [n, keys[n], N - 1 - n];
order.forEach((b, i) => {
  i32[idxAt / 4 + 3 * N + i] = b;
});
const variants = VARIANTS.map((streams, v) => {
  const e = new WebAssembly.Instance(new WebAssembly.Module(attentionModuleBytes(streams)), { env: { mem } }).exports;
  const p = (v * 128) / 4;
  const set = (field, value) => {
    i32[p + field] = value;
  };
  set(ATTEND.INDEX, idxAt);
  set(ATTEND.ROWS, N);
  set(ATTEND.MAX_BLOCKS, maxBlocks);
  set(ATTEND.BLOCK_SIZE, BLOCK);
  set(ATTEND.Q, qAt);
  set(ATTEND.OUT, outAt(v));
  set(ATTEND.SCRATCH, scratchAt(v));
  set(ATTEND.FIRST_ROW, 0);
  set(ATTEND.KV_HEADS, KV_HEADS);
  set(ATTEND.GROUP, HEADS / KV_HEADS);
  set(ATTEND.HEAD_BYTES, 4 * D);
  set(ATTEND.STRIDE, attendStride(most, streams));
  set(ATTEND.SCALE_BITS, new Int32Array(Float32Array.of(1 / Math.sqrt(D)).buffer)[0]);
  set(ATTEND.SCRATCH_BYTES, scratchBytes);
  set(ATTEND.ORDER, 3072);
  const run = (copy) => {
    set(ATTEND.K_POOL, POOLS + 2 * copy * poolBytes);
    set(ATTEND.V_POOL, POOLS + (2 * copy + 1) * poolBytes);
    e.attendRows(v * 128, 0, N);
  };
  return { name: `${streams} keys per pass`, run, times: [] };
});
console.log(
  `# attendRows variants (keys per pass), ${HEADS} heads over ${KV_HEADS} of ${D}, ${N} rows at ${LO}–${HI} keys, ${COPIES} pool copies, load ${loadavg()[0].toFixed(2)}`,
);
const madds = 2 * keys.reduce((a, k) => a + k, 0) * rowFloats;
let copy = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) v.run(copy++ % COPIES);
    const u = process.cpuUsage(c0);
    v.times.push((u.user + u.system) / CALLS);
  }
}
for (const v of variants) v.run(0);
const first = f.slice(outAt(0) / 4, outAt(0) / 4 + N * rowFloats);
for (const [v, { name, times }] of variants.entries()) {
  const out = f.subarray(outAt(v) / 4, outAt(v) / 4 + N * rowFloats);
  const same = out.every((x, i) => Math.abs(x - first[i]) <= 1e-5 * (0.05 + Math.abs(first[i])));
  const us = times.sort((a, b) => a - b)[ROUNDS >> 1];
  console.log(
    `${name}: ${us.toFixed(1)} CPU-µs, ${(madds / us / 1e3).toFixed(2)} G multiply-adds/s${same ? '' : ' MISMATCH'}`,
  );
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
