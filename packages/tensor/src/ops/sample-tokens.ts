/**
 * Token sampling on the device: logits [rows, vocab] in, int32 token ids [rows] out, so a decode step reads back one
 * id per sequence instead of a row of logits. The host draws each row's uniform number from the row's own seeded
 * generator; given the same draw, every backend picks the same token as {@link sampleTokenRow} (the host reference,
 * which the CPU kernel is), up to float32 rounding of the weights on the GPU. The definition, step by step, is in
 * `cpu/sample-tokens.ts`.
 *
 * @module
 */
import type { SamplingRows } from '../backend/backend.js';
import { sampleRow } from '../cpu/sample-tokens.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { backendOf, requireDtype } from './inputs.js';

/** One row's sampling settings and draw. */
export interface TokenSampling {
  /** 0 means greedy (the first maximum of the adjusted logits). */
  temperature: number;
  /** Keep the k best adjusted logits (ties: lowest ids); 0 keeps all. */
  topK: number;
  /** Nucleus mass in (0, 1]. */
  topP: number;
  /** The row's uniform draw in [0, 1) (unused at temperature 0). */
  uniform: number;
  /** Added to the logit of each token id (OpenAI `logit_bias`); ids outside the vocabulary are ignored. */
  logitBias?: ReadonlyMap<number, number>;
  /** How often each token id was generated so far: the penalties apply to these. */
  counts?: ReadonlyMap<number, number>;
  /** Subtracted once from each token in `counts` (OpenAI `presence_penalty`). */
  presencePenalty?: number;
  /** Subtracted per occurrence (OpenAI `frequency_penalty`). */
  frequencyPenalty?: number;
  /** llama.cpp's repetition penalty r ≥ 0 on tokens in `counts`: a positive logit is divided by r, others multiplied. */
  repetitionPenalty?: number;
}

/** What {@link sampleTokens} returns: token ids and, when asked, log-probabilities of the raw logits. */
export interface SampledTokens {
  /** int32 [rows]. */
  ids: Tensor;
  /** float32 [rows]: log-softmax of the raw logits at the chosen id (when `topLogprobs` ≥ 0). */
  logprob?: Tensor;
  /** int32 [rows, n]: the n most likely ids, best first, ties by lowest id (when `topLogprobs` = n > 0). */
  topIds?: Tensor;
  /** float32 [rows, n]: their log-probabilities. */
  topLogprobs?: Tensor;
}

function checkRow(s: TokenSampling, r: number): void {
  const at = `sampleTokens: row ${r}`;
  if (!(s.temperature >= 0 && Number.isFinite(s.temperature))) {
    throw new Error(`${at}: temperature must be a finite number >= 0, got ${s.temperature}`);
  }
  if (!Number.isInteger(s.topK) || s.topK < 0) throw new Error(`${at}: topK must be an integer >= 0, got ${s.topK}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw new Error(`${at}: topP must lie in (0, 1], got ${s.topP}`);
  if (!(s.uniform >= 0 && s.uniform < 1)) throw new Error(`${at}: uniform must lie in [0, 1), got ${s.uniform}`);
  const r0 = s.repetitionPenalty ?? 1;
  if (!(r0 > 0 && Number.isFinite(r0))) throw new Error(`${at}: repetitionPenalty must be > 0, got ${r0}`);
  for (const key of ['presencePenalty', 'frequencyPenalty'] as const) {
    if (!Number.isFinite(s[key] ?? 0)) throw new Error(`${at}: ${key} must be finite, got ${s[key]}`);
  }
}

/**
 * Packs rows into the backend's form: one sparse entry per biased or generated token. The penalty is computed in
 * float64 and rounded once (`frequency · count + presence`); the repetition factors are 1/r and r in float32.
 * @throws Error naming the row and setting when one is out of range.
 */
export function packSamplingRows(rows: readonly TokenSampling[], vocab: number): SamplingRows {
  const B = rows.length;
  const packed = {
    temperature: new Float64Array(B),
    topK: new Int32Array(B),
    topP: new Float64Array(B),
    uniform: new Float64Array(B),
    entryStart: new Int32Array(B + 1),
  };
  const ids: number[] = [];
  const vals: number[] = []; // bias, scalePositive, scaleNegative, penalty per entry
  rows.forEach((s, r) => {
    checkRow(s, r);
    packed.temperature[r] = s.temperature;
    packed.topK[r] = s.topK;
    packed.topP[r] = s.topP;
    packed.uniform[r] = s.uniform;
    const rep = s.repetitionPenalty ?? 1;
    const freq = s.frequencyPenalty ?? 0;
    const presence = s.presencePenalty ?? 0;
    const penalized = rep !== 1 || freq !== 0 || presence !== 0;
    // A row without bias or penalties (every greedy decode step) has no entries: no map to build.
    if (!penalized && !s.logitBias?.size) {
      packed.entryStart[r + 1] = ids.length;
      return;
    }
    const entries = new Map<number, [number, number, number, number]>();
    for (const [id, bias] of s.logitBias ?? []) {
      if (!Number.isFinite(bias)) throw new Error(`sampleTokens: row ${r}: logitBias of token ${id} must be finite`);
      if (Number.isInteger(id) && id >= 0 && id < vocab) entries.set(id, [bias, 1, 1, 0]);
    }
    if (penalized) {
      for (const [id, n] of s.counts ?? []) {
        if (!(n > 0) || !Number.isInteger(id) || id < 0 || id >= vocab) continue;
        const e = entries.get(id) ?? [0, 1, 1, 0];
        e[1] = 1 / rep;
        e[2] = rep;
        e[3] = freq * n + presence;
        entries.set(id, e);
      }
    }
    for (const [id, e] of entries) {
      ids.push(id);
      vals.push(e[0], e[1], e[2], e[3]);
    }
    packed.entryStart[r + 1] = ids.length;
  });
  const E = ids.length;
  const column = (k: number) => {
    const out = new Float32Array(E);
    for (let e = 0; e < E; e++) out[e] = vals[e * 4 + k]!;
    return out;
  };
  // Named fields, not `...packed`: spreading an object of typed arrays took V8 ~6 µs, more than the rest together.
  const { temperature, topK, topP, uniform, entryStart } = packed;
  return {
    temperature,
    topK,
    topP,
    uniform,
    entryStart,
    entryIds: Int32Array.from(ids),
    bias: column(0),
    scalePositive: column(1),
    scaleNegative: column(2),
    penalty: column(3),
  };
}

/**
 * The host reference: the token that {@link sampleTokens} picks for one row of logits ([vocab], not modified).
 * `Sampler` in @andes/nn draws through this.
 */
export function sampleTokenRow(logits: Float32Array, s: TokenSampling): number {
  if (logits.length === 0) throw new Error('sampleTokenRow: empty logits');
  return sampleRow(logits, packSamplingRows([s], logits.length), 0);
}

/**
 * Draws one token per row of `logits` [rows, vocab] (float32) on its backend and returns int32 ids [rows]; with
 * `topLogprobs` = n ≥ 0 also each chosen token's log-probability and the n most likely tokens' (raw logits).
 *
 * @example
 * ```ts
 * const { ids } = sampleTokens(logits, [{ temperature: 0.8, topK: 40, topP: 0.95, uniform: rng.next() }]);
 * const [id] = await ids.data();
 * ```
 * @throws Error naming the op, shapes, row and setting on bad input.
 */
export function sampleTokens(
  logits: Tensor,
  rows: readonly TokenSampling[],
  options: { topLogprobs?: number } = {},
): SampledTokens {
  const backend = backendOf('sampleTokens', logits);
  requireDtype('sampleTokens', logits, 'float32', 'logits');
  const [B, V] = logits.shape as [number, number];
  if (logits.shape.length !== 2 || V === 0) {
    throw new Error(`sampleTokens: logits must be [rows, vocab] with vocab > 0, got ${fmt(logits.shape)}`);
  }
  if (rows.length !== B) {
    throw new Error(`sampleTokens: ${rows.length} rows of settings for logits ${fmt(logits.shape)}`);
  }
  const n = options.topLogprobs ?? -1;
  if (!Number.isInteger(n) || n < -1 || n > V) {
    throw new Error(`sampleTokens: topLogprobs must be an integer in [-1, ${V}], got ${n}`);
  }
  const packed = packSamplingRows(rows, V);
  const x = logits.isContiguous() ? logits : Tensor.fromStorage(backend.copy(logits), backend, logits.shape);
  try {
    const s = backend.sampleTokens(x, packed, n);
    const out: SampledTokens = { ids: Tensor.fromStorage(s.ids, backend, [B]) };
    if (s.logprob) out.logprob = Tensor.fromStorage(s.logprob, backend, [B]);
    if (s.topIds) out.topIds = Tensor.fromStorage(s.topIds, backend, [B, n]);
    if (s.topLogprobs) out.topLogprobs = Tensor.fromStorage(s.topLogprobs, backend, [B, n]);
    return out;
  } finally {
    if (x !== logits) x.dispose();
  }
}
