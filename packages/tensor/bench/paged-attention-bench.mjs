// CPU paged attention (src/cpu/paged-attention.ts) for one step's rows, as the serve engine runs it: this build on 1
// and on THREADS threads, and with BASE=<an older packages/tensor/dist> that build beside it (its own wasm memory),
// rounds interleaved in one process. Cases: 16 decode rows of 16 sequences at contexts spread over 16–256 (and
// 50–90, the server's realistic load), and a prefill chunk (64 causal rows of one sequence). Pools of blocks of 16
// positions, the sequences' blocks shuffled; COPIES copies of the pools rotate (default: ~64 MB per build, past the
// L3, as a decode step finds its KV rows after streaming the weights; COPIES=1 keeps them in cache). Wall µs per call
// (median round), the ratio to BASE, and the process CPU µs (all threads: helpers' spin included). Outputs must be
// bit-identical across thread counts and within 1e-5 of BASE (relative to its largest output) (else MISMATCH).
//
//   node packages/tensor/bench/paged-attention-bench.mjs                      # after npm run build
//   BASE=/tmp/attn-base/dist SHAPE=110m THREADS=2 node packages/tensor/bench/paged-attention-bench.mjs
//   KV_DTYPE=float16 node packages/tensor/bench/paged-attention-bench.mjs   # pools of halves (a half KV cache)
import { loadavg } from 'node:os';
import { encodeHalf } from '../dist/formats/half-precision.js';

const SHAPES = {
  '15m': { heads: 6, kvHeads: 6, D: 48 },
  '110m': { heads: 12, kvHeads: 12, D: 64 },
  // TinyLlama-1.1B's grouped-query attention: 8 query heads per key/value head.
  tinyllama: { heads: 32, kvHeads: 4, D: 64 },
};
const { heads, kvHeads, D } = SHAPES[process.env.SHAPE ?? '15m'];
const THREADS = Number(process.env.THREADS ?? 2);
const KV_DTYPE = process.env.KV_DTYPE ?? 'float32';
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const CALLS = Number(process.env.CALLS ?? 40);
const BLOCK = 16;
const CASES = (process.env.CASES ?? 'decode16-256,decode50-90,prefill64').split(',');

async function build(dir) {
  const [paged, storage, threads] = await Promise.all(
    ['cpu/paged-attention.js', 'cpu/storage.js', 'cpu/cpu-threads.js'].map((f) => import(`${dir}/${f}`)),
  );
  return { pagedAttention: paged.pagedAttention, CpuStorage: storage.CpuStorage, ...threads };
}
const mine = await build(new URL('../dist', import.meta.url).href);
const base = process.env.BASE ? await build(process.env.BASE) : null;
mine.setCpuThreads(THREADS);
const ready = await mine.startCpuHelpers();

let seed = 2024;
const random = (n) =>
  Float32Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
    return (seed >>> 8) / 2 ** 24 - 0.5;
  });

/** One step: rowSeq / rowKeys per row and each sequence's shuffled blocks. */
function step(name) {
  if (name.startsWith('prefill')) {
    const rows = Number(name.slice(7));
    const keys = Array.from({ length: rows }, (_, n) => 100 + n + 1); // a chunk after 100 cached positions
    return { rowSeq: keys.map(() => 0), keys, seqs: 1 };
  }
  const [lo, hi] = name.slice(8).split('-').map(Number);
  const keys = Array.from({ length: 16 }, (_, n) => lo + Math.round(((hi - lo) * n) / 15));
  return { rowSeq: keys.map((_, n) => n), keys, seqs: 16 };
}

function problem(name) {
  const { rowSeq, keys, seqs } = step(name);
  const N = keys.length;
  const maxBlocks = Math.ceil(Math.max(...keys) / BLOCK);
  const numBlocks = seqs * maxBlocks;
  const order = Array.from({ length: numBlocks }, (_, i) => i);
  for (let i = process.env.SHUFFLE === '0' ? 0 : numBlocks - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
    const j = (seed >>> 8) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const idx = new Int32Array(3 * N + seqs * maxBlocks);
  for (let n = 0; n < N; n++) [idx[n], idx[N + n], idx[2 * N + n]] = [rowSeq[n], keys[n], 0];
  idx.set(order, 3 * N);
  const poolFloats = numBlocks * BLOCK * kvHeads * D;
  const copies = Number(process.env.COPIES ?? Math.max(1, Math.min(16, Math.round(16e6 / (2 * poolFloats)))));
  const pools = Array.from({ length: copies }, () => [random(poolFloats), random(poolFloats)]);
  return {
    N,
    copies,
    q: random(N * heads * D),
    idx,
    pools,
    layout: { rows: N, seqs, maxBlocks, blockSize: BLOCK },
    multiplyAdds: 2 * keys.reduce((a, k) => a + k, 0) * heads * D,
  };
}

/**
 * Views of problem p for build b (its own storages, so each build moves its own copies into its memory); the pools of
 * this build are KV_DTYPE (float32, float16 or bfloat16: a half KV cache), BASE's BASE_DTYPE (default float32).
 */
function views(b, p) {
  const view = (data, shape, dtype = data instanceof Int32Array ? 'int32' : 'float32') => ({
    storage: new b.CpuStorage(dtype, dtype === 'float32' || dtype === 'int32' ? data.slice() : encodeHalf(dtype, data)),
    shape,
    strides: shape.map((_, i) => shape.slice(i + 1).reduce((x, y) => x * y, 1)),
    offset: 0,
  });
  const poolShape = [p.pools[0][0].length / (BLOCK * kvHeads * D), BLOCK, kvHeads, D];
  const dtype = b === mine ? KV_DTYPE : (process.env.BASE_DTYPE ?? 'float32');
  return {
    q: view(p.q, [p.N, heads, D]),
    index: view(p.idx, [p.idx.length]),
    pools: p.pools.map(([k, v]) => [view(k, poolShape, dtype), view(v, poolShape, dtype)]),
  };
}

const scale = 1 / Math.sqrt(D);
console.log(
  `# paged attention, ${heads} heads over ${kvHeads} of ${D}, ${KV_DTYPE} pools, blocks of ${BLOCK}; ${THREADS} threads (${ready} helpers ready); load ${loadavg()[0].toFixed(2)}`,
);
console.log(
  '| case | copies | M multiply-adds | base µs | 1 thread µs | n threads µs | base / n | CPU µs base, 1, n |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const name of CASES) {
  const p = problem(name);
  const configs = [
    ...(base ? [{ b: base, threads: 1, v: views(base, p) }] : []),
    { b: mine, threads: 1, v: views(mine, p) },
    { b: mine, threads: THREADS, v: views(mine, p) },
  ];
  const wall = configs.map(() => []);
  const cpu = configs.map(() => []);
  const outs = configs.map(() => null);
  for (let round = 0; round < ROUNDS; round++) {
    configs.forEach((c, i) => {
      if (c.b === mine) mine.setCpuThreads(c.threads);
      const run = (j) => {
        const [k, v] = c.v.pools[j % p.copies];
        return c.b.pagedAttention(c.v.q, k, v, c.v.index, p.layout, scale);
      };
      run(0); // wakes the helpers (asleep after the other configs' calls)
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let out;
      for (let j = 0; j < CALLS; j++) out = run(j);
      wall[i].push(((performance.now() - t0) * 1e3) / CALLS);
      const u = process.cpuUsage(c0);
      cpu[i].push((u.user + u.system) / CALLS);
      outs[i] = Float32Array.from(out.data);
    });
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const w = wall.map(median);
  const c = cpu.map(median);
  const [one, many] = [outs[outs.length - 2], outs[outs.length - 1]];
  // Largest difference from BASE relative to BASE's largest output (different sum orders in float32).
  let [worst, top] = [0, 0];
  if (base)
    for (let i = 0; i < one.length; i++)
      [worst, top] = [Math.max(worst, Math.abs(one[i] - outs[0][i])), Math.max(top, Math.abs(outs[0][i]))];
  worst /= top || 1;
  const same = one.every((x, i) => Object.is(x, many[i]));
  const flag = same && worst <= 1e-5 ? '' : ` MISMATCH (threads same: ${same}, vs base ${worst.toExponential(1)})`;
  const cells = base
    ? [w[0].toFixed(0), w[1].toFixed(0), w[2].toFixed(0), `${(w[0] / w[2]).toFixed(2)}×`]
    : ['—', w[0].toFixed(0), w[1].toFixed(0), '—'];
  console.log(
    `| ${name} | ${p.copies} | ${(p.multiplyAdds / 1e6).toFixed(2)} | ${cells.join(' | ')} | ${c.map((x) => x.toFixed(0)).join(', ')} |${flag}`,
  );
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
