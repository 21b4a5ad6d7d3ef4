// The real Scheduler against a simulated engine and simulated clients, on a simulated clock: time to first token
// and throughput at 1 and 16 clients per prefill-first policy, with no other tenant's load in the numbers. The engine
// commits positions in a real KvBlockPool (prefix caching included) and draws seeded random tokens; a step costs
// `fixed + perChunk · chunks + perRow · rows` ms (each chunk computes one row of logits and draws one token), times a
// seeded noise factor. The clients follow bench-workload.mjs: `realistic` (a 40-token shared system prompt and a
// 12-token line, max_tokens uniform on [4, 28], starts spread over 1 s) and `lockstep` (12-token prompts, 16 tokens,
// all at once); each request pays SIM_HTTP_MS before its submit and after its first token (client and HTTP).
//
//   node bench/sched-sim.mjs      # after npm run build
//
// Environment: SIM_COSTS (`cpu` | `lavapipe` | `fixed,perChunk,perRow` in ms; default both named profiles, fitted to
// the 2026-12-05 traces in BENCHMARKS.md), SIM_POLICIES (default off,always,adaptive), SIM_WORKLOADS (default
// realistic,lockstep), SIM_SECONDS (simulated seconds per level, default 20), SIM_NOISE (± fraction, default 0.15),
// SIM_HTTP_MS (default 3), SIM_TARGET_MS (the scheduler's targetStepMs; default its own, 100), SIM_SEED (the step-cost noise's seed, default 17), SIM_OVERLAP (1: the next step is planned before delivery, as with an engine worker; default:
// 1 for cpu, 0 for lavapipe, as the CLI's defaults).
import { KvBlockPool } from '@andes/nn';
import { mixSeed, seededUniform } from '@andes/tensor';
import { Scheduler } from '../dist/index.js';

const PROFILES = {
  // CPU default (one engine worker, 2 threads): 1-row decode 3.4 ms, 16-row decode 16.6 ms, a 20-row prefill 10.9 ms.
  cpu: { fixed: 2.5, perChunk: 0.48, perRow: 0.4, overlap: true },
  // lavapipe (model on the main thread): 1-row decode 33 ms, 16-row decode ~93 ms, a 20-row prefill 62 ms.
  lavapipe: { fixed: 29, perChunk: 2.5, perRow: 1.5, overlap: false },
};
const costs = (process.env.SIM_COSTS ?? 'cpu,lavapipe').split(';').flatMap((c) => {
  if (PROFILES[c]) return [{ name: c, ...PROFILES[c] }];
  if (/^[\d.,\s]+$/.test(c)) {
    const [fixed, perChunk, perRow] = c.split(',').map(Number);
    return [{ name: c, fixed, perChunk, perRow, overlap: true }];
  }
  return c.split(',').map((n) => {
    if (!PROFILES[n]) throw new Error(`SIM_COSTS: unknown profile ${n}`);
    return { name: n, ...PROFILES[n] };
  });
});
const POLICIES = (process.env.SIM_POLICIES ?? 'off,always,adaptive').split(',');
const WORKLOADS = (process.env.SIM_WORKLOADS ?? 'realistic,lockstep').split(',');
const SECONDS = Number(process.env.SIM_SECONDS ?? 20);
const NOISE = Number(process.env.SIM_NOISE ?? 0.15);
const HTTP_MS = Number(process.env.SIM_HTTP_MS ?? 3);
const SEED = Number(process.env.SIM_SEED ?? 17);
const TARGET_MS = process.env.SIM_TARGET_MS === undefined ? undefined : Number(process.env.SIM_TARGET_MS);
const policyOf = { off: false, always: true, adaptive: 'adaptive' };

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/** One level: `clients` closed-loop clients of `workload` against a Scheduler with `policy` on `cost`. */
async function simulate(cost, policy, workload, clients) {
  let now = 0;
  /** Per sequence id (submission order): submit time, first step's start (where a request's TTFT goes). */
  const submitted = [];
  const firstStep = [];
  const waits = [];
  const events = []; // { t, fn }, kept sorted by t
  const at = (t, fn) => {
    let i = events.length;
    while (i > 0 && events[i - 1].t > t) i--;
    events.splice(i, 0, { t, fn });
  };
  const runUntil = (t) => {
    while (events.length > 0 && events[0].t <= t) {
      const e = events.shift();
      now = Math.max(now, e.t);
      e.fn();
    }
  };
  const noise = seededUniform(mixSeed(SEED, clients));
  const pool = new KvBlockPool(16 * 16, 16);
  const engine = {
    vocabSize: 32000,
    maxSlots: 16,
    maxContext: 256,
    blocks: pool,
    stepsOffThread: cost.overlap,
    async step(chunks) {
      // Yield first, as a real engine does, so that the caller's delivery of the last step happens at the step's start.
      await new Promise((r) => setImmediate(r));
      for (const c of chunks) {
        if (!pool.has(c.seq)) pool.open(c.seq);
        if (!pool.grow(c.seq, c.start + c.ids.length)) throw new Error('sim: no blocks');
      }
      for (const c of chunks) firstStep[c.seq] ??= now;
      const rows = chunks.reduce((n, c) => n + c.ids.length, 0);
      const ms = (cost.fixed + cost.perChunk * chunks.length + cost.perRow * rows) * (1 + NOISE * (2 * noise() - 1));
      const end = now + ms;
      runUntil(end); // requests arriving while the step runs
      now = end;
      for (const c of chunks) pool.commit(c.seq, c.start, c.ids);
      return chunks.map((c) => (c.sample ? { token: { id: 3 + Math.floor(noise() * 31000) } } : {}));
    },
    release(seq) {
      if (pool.has(seq)) pool.close(seq);
    },
  };
  const scheduler = new Scheduler(engine, {
    maxQueue: 1024,
    prefillFirst: policyOf[policy],
    targetStepMs: TARGET_MS,
    clock: () => now,
  });
  const system = Array.from({ length: 40 }, (_, i) => 100 + i);
  const ttft = [];
  const itl = [];
  let generated = 0;
  const end = SECONDS * 1000;
  const send = (w, r) => {
    const u = seededUniform(mixSeed(mixSeed(104729, w), r));
    const line = Array.from({ length: 12 }, () => 1000 + Math.floor(u() * 30000));
    const prompt = workload === 'realistic' ? [1, ...system, ...line.slice(1)] : [1, ...line.slice(1)];
    const maxTokens = workload === 'realistic' ? 4 + Math.floor(u() * 25) : 16;
    const t0 = now;
    let last = 0;
    const submitAt = now + HTTP_MS / 2;
    let id = -1;
    at(submitAt, () => {
      id = submitted.push(now) - 1;
      scheduler.submit({
        prompt,
        maxTokens,
        sampling: { temperature: 0.8, seed: w * 1000 + r },
        eosIds: [],
        topLogprobs: -1,
        onToken: () => {
          generated++;
          if (last === 0) {
            ttft.push(now - t0 + HTTP_MS);
            waits.push([firstStep[id] - submitted[id], now - firstStep[id]]);
          } else itl.push(now - last);
          last = now;
        },
        onFinish: (reason) => {
          if (reason !== 'length') throw new Error(`sim: request ended with ${reason}`);
          if (now < end) send(w, r + 1);
        },
      });
    });
  };
  for (let w = 0; w < clients; w++) {
    const delay = workload === 'realistic' ? seededUniform(mixSeed(7919, w))() * 1000 : 0;
    at(delay, () => send(w, 0));
  }
  while (events.length > 0 || scheduler.busy) {
    if (!scheduler.busy && events.length > 0) runUntil(events[0].t);
    await scheduler.idle();
    await new Promise((r) => setImmediate(r));
  }
  return {
    tokensPerSecond: (generated / now) * 1000,
    ttftP50: quantile(ttft, 0.5),
    ttftP95: quantile(ttft, 0.95),
    itlP95: quantile(itl, 0.95),
    requests: ttft.length,
    /** Mean ms from submit to the first step holding the request, and from there to its first token. */
    waitMean: waits.reduce((a, w) => a + w[0], 0) / waits.length,
    pathMean: waits.reduce((a, w) => a + w[1], 0) / waits.length,
  };
}

console.log(
  `# scheduler simulation: ${SECONDS} simulated s per level, noise ±${NOISE * 100} %, ${HTTP_MS} ms HTTP per request`,
);
console.log(
  '| costs (fixed, chunk, row ms) | workload | policy | tok/s 1 | tok/s 16 | ratio | TTFT p50 / p95 1 | TTFT p50 / p95 16 | p95 ratio | inter-token p95 16 | 16: submit → first step / → first token, mean ms |',
);
console.log('| --- | --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |');
for (const cost of costs) {
  for (const workload of WORKLOADS) {
    for (const policy of POLICIES) {
      const one = await simulate(cost, policy, workload, 1);
      const sixteen = await simulate(cost, policy, workload, 16);
      const f = (x) => x.toFixed(0);
      console.log(
        `| ${cost.name} (${cost.fixed}, ${cost.perChunk}, ${cost.perRow}) | ${workload} | ${policy} | ${f(one.tokensPerSecond)} | ${f(sixteen.tokensPerSecond)} | ${(sixteen.tokensPerSecond / one.tokensPerSecond).toFixed(2)}× | ${f(one.ttftP50)} / ${f(one.ttftP95)} | ${f(sixteen.ttftP50)} / ${f(sixteen.ttftP95)} | ${(sixteen.ttftP95 / one.ttftP95).toFixed(2)}× | ${f(sixteen.itlP95)} | ${f(sixteen.waitMean)} / ${f(sixteen.pathMean)} |`,
      );
    }
  }
}
