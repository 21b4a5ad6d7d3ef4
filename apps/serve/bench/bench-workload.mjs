// The serve benchmark's two workloads and its reading of the server's step metrics.
//
// `lockstep` (the configuration of every earlier BENCHMARKS.md row): closed-loop clients, every request exactly
// BENCH_TOKENS tokens, prompts `Story ${w}-${r}: Once upon a time`, all clients starting at once. With equal lengths
// the clients finish in the same step and send their next prompts together, so at 16 clients all 16 prompts land
// in one step (the prefill batch-size histogram below shows it).
//
// `realistic`: what chat clients send — a shared system prompt (the same ~50 tokens in every request, as a chat
// front end prepends; prefix caching can skip it) before a per-request line, `max_tokens` drawn per request from a
// seeded distribution (uniform over [BENCH_TOKENS/4, 7·BENCH_TOKENS/4], the same mean as lockstep), and each client
// starting after a seeded delay in [0, BENCH_STAGGER_MS) (default 1000). Both servers get the same requests.
import { mixSeed, seededUniform } from '@andes/tensor';

/** The system prompt every `realistic` request starts with (a chat front end's preamble). */
export const SYSTEM_PROMPT =
  'You are a friendly storyteller for young children. Use simple words, short sentences and a happy ending. ' +
  'Every story has a small animal, a kind friend and a lesson about sharing.';

/**
 * The workload named `name` (lockstep | realistic) for requests of `tokens` tokens on average: `startDelayMs(w)` for
 * client w, and `request(w, r)` → `{ prompt, maxTokens }` for its r-th request (deterministic in w and r).
 */
export function workload(name, tokens, staggerMs = 1000) {
  if (name === 'lockstep') {
    return {
      name,
      startDelayMs: () => 0,
      request: (w, r) => ({ prompt: `Story ${w}-${r}: Once upon a time`, maxTokens: tokens }),
    };
  }
  if (name !== 'realistic') throw new Error(`BENCH_WORKLOAD: unknown workload ${name} (lockstep | realistic)`);
  const lo = Math.max(1, Math.round(tokens / 4));
  const hi = Math.max(lo, Math.round((7 * tokens) / 4));
  return {
    name,
    startDelayMs: (w) => seededUniform(mixSeed(7919, w))() * staggerMs,
    request: (w, r) => {
      const u = seededUniform(mixSeed(mixSeed(104729, w), r))();
      return {
        prompt: `${SYSTEM_PROMPT}\nStory ${w}-${r}: Once upon a time`,
        maxTokens: lo + Math.floor(u * (hi - lo + 1)),
      };
    },
  };
}

/** Bucket counts of histogram `name` in a Prometheus exposition text: Map(upper bound → cumulative count). */
function buckets(text, name) {
  const out = new Map();
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm');
  for (const m of text.matchAll(re)) out.set(m[1], Number(m[2]));
  return out;
}

/** Andes's `/metrics` text, or null when the server has none (llama.cpp's shim). */
export async function scrapeMetrics(base) {
  try {
    const res = await fetch(`${base}/metrics`);
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}

/**
 * Between two scrapes: how many steps prefilled how many sequences (`1`, `2`, `3–4`, … `9–16`, …), and the
 * steps' decode batch sizes the same way, as `"bucket:count"` strings (non-empty buckets only); the number of steps
 * and their wall seconds in all (the engine's share of the server's time); the mean TTFT the scheduler saw; the
 * refill waits (how many, their seconds).
 */
export function stepHistogramsBetween(before, after) {
  if (!before || !after) return null;
  const diff = (name) => {
    const a = buckets(before, name);
    const b = buckets(after, name);
    const parts = [];
    let prevLe = 0;
    let prevCount = 0;
    for (const [le, cum] of b) {
      const count = cum - (a.get(le) ?? 0);
      const inBucket = count - prevCount;
      const lo = prevLe + 1;
      const label = le === '+Inf' ? `>${prevLe}` : lo === Number(le) ? le : `${lo}–${le}`;
      if (inBucket > 0) parts.push(`${label}:${inBucket}`);
      prevCount = count;
      if (le !== '+Inf') prevLe = Number(le);
    }
    return parts.join(' ');
  };
  const value = (text, name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const delta = (name) => value(after, name) - value(before, name);
  return {
    prefill: diff('andes_prefill_batch_size'),
    decode: diff('andes_decode_batch_size'),
    steps: delta('andes_step_seconds_count'),
    stepSeconds: delta('andes_step_seconds_sum'),
    /** Mean seconds from `submit` to the first token inside the server (the client's TTFT adds HTTP both ways). */
    serverTtftMean: delta('andes_time_to_first_token_seconds_sum') / delta('andes_time_to_first_token_seconds_count'),
    /** Steps that waited for follow-up requests (refill waits) and their seconds in all (NaN: a server without). */
    refillWaits: delta('andes_refill_wait_seconds_count'),
    refillWaitSeconds: delta('andes_refill_wait_seconds_sum'),
  };
}
