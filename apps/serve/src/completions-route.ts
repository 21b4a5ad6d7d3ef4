/**
 * `POST /v1/completions` (legacy): text or token-id prompts, n choices per prompt, `echo`, and integer `logprobs`
 * including the prompt tokens' log-probabilities (first token null) — what lm-evaluation-harness's
 * OpenAI-completions loglikelihood requests use (`echo: true, logprobs: k, max_tokens: 0 or 1`).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, badRequest } from './errors.js';
import { type ChoiceSpec, runChoiceGroup } from './generation.js';
import { emptyLegacyLogprobs, type LegacyLogprobs, pushLegacy, TokenStrings } from './logprobs-format.js';
import { generationLimit, type SamplingFields, samplingParams, stopStrings } from './request-params.js';
import { checkModelName, onClientGone, type RouteContext, requestId } from './route-context.js';
import type { FinishReason, TokenEvent } from './scheduler.js';
import { completionSchema } from './schemas.js';
import type { ServedModel } from './served-model.js';
import { ChunkEvents, SseStream } from './sse.js';

/** The validated request body. */
export interface CompletionBody extends SamplingFields {
  model: string;
  prompt: string | string[] | number[] | number[][];
  max_tokens?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null } | null;
  echo?: boolean | null;
  logprobs?: number | null;
  best_of?: number | null;
}

interface PromptInput {
  ids: number[];
  /** Text echoed back: the prompt string itself, or the decoded ids. */
  text: string;
}

/** Normalizes the four prompt forms; text prompts get BOS, token prompts are used as given. */
export function promptInputs(model: ServedModel, prompt: CompletionBody['prompt']): PromptInput[] {
  const tok = model.tokenizer;
  const fromIds = (ids: number[], i: number): PromptInput => {
    for (const id of ids) {
      if (id >= model.engine.vocabSize) {
        throw badRequest(`prompt[${i}]: token id ${id} is outside the vocabulary [0, ${model.engine.vocabSize})`);
      }
    }
    return { ids, text: tok.decode(ids) };
  };
  if (typeof prompt === 'string') return [{ ids: tok.encode(prompt, { bos: true }), text: prompt }];
  if (prompt.length > 0 && typeof prompt[0] === 'number') return [fromIds(prompt as number[], 0)];
  return (prompt as (string | number[])[]).map((p, i) =>
    typeof p === 'string' ? { ids: tok.encode(p, { bos: true }), text: p } : fromIds(p, i),
  );
}

/** Registers the route. */
export function registerCompletionsRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/v1/completions', { schema: { body: completionSchema } }, async (request, reply) => {
    const body = request.body as CompletionBody;
    const { model, scheduler } = ctx.ready();
    checkModelName(model, body.model);
    if (body.best_of != null && body.best_of !== (body.n ?? 1)) {
      throw badRequest('best_of other than n is not supported', 'best_of');
    }
    const prompts = promptInputs(model, body.prompt);
    const n = body.n ?? 1;
    const echo = !!body.echo;
    const topLogprobs = body.logprobs ?? -1;
    const stops = stopStrings(body.stop);
    const context = model.engine.maxContext;
    const specs: ChoiceSpec[] = [];
    prompts.forEach((p, pi) => {
      const maxTokens = generationLimit(p.ids.length, body.max_tokens ?? 16, context, 'prompt');
      for (let j = 0; j < n; j++) {
        specs.push({
          index: pi * n + j,
          stops,
          continuePrompt: true,
          request: {
            prompt: p.ids,
            maxTokens,
            sampling: samplingParams(body, model.engine.vocabSize, j),
            eosIds: model.eosIds,
            topLogprobs,
            promptLogprobs: echo && topLogprobs >= 0 && j === 0,
          },
        });
      }
    });
    const strings = new TokenStrings(model.tokenizer);
    const count = specs.length;
    const texts: string[] = specs.map((s) => (echo ? prompts[Math.floor(s.index / n)]!.text : ''));
    const lps: LegacyLogprobs[] = specs.map(() => emptyLegacyLogprobs());
    const reasons: FinishReason[] = new Array(count).fill('stop');
    const promptTokens = prompts.reduce((a, p) => a + p.ids.length, 0);
    let completionTokens = 0;
    const usage = () => ({
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    });
    // Echoed prompt log-probabilities, with offsets from an incremental decode of the prompt ids.
    const onPromptLogprobs = (
      index: number,
      entries: { logprob: number; top: { id: number; logprob: number }[] }[],
    ) => {
      const p = prompts[Math.floor(index / n)]!;
      const dec = model.tokenizer.streamingDecoder();
      let offset = 0;
      p.ids.forEach((id, t) => {
        const e = t === 0 ? null : entries[t - 1]!;
        pushLegacy(lps[index]!, strings, id, offset, e ? e.logprob : null, e ? e.top : null);
        offset += dec.push(id).length;
      });
      // Choices 2..n of this prompt share the prompt part.
      for (let j = 1; j < n; j++) {
        const o = lps[index + j]!;
        const src = lps[index]!;
        o.tokens.push(...src.tokens);
        o.token_logprobs.push(...src.token_logprobs);
        o.top_logprobs.push(...src.top_logprobs);
        o.text_offset.push(...src.text_offset);
      }
    };
    const appendTokens = (out: LegacyLogprobs, startOffset: number, tokens: TokenEvent[]) => {
      let offset = startOffset;
      for (const t of tokens) {
        pushLegacy(out, strings, t.id, offset, t.logprob ?? 0, t.top ?? []);
        offset += t.eos ? 0 : strings.get(t.id).length;
      }
    };

    if (body.stream) {
      const includeUsage = !!body.stream_options?.include_usage;
      const id = requestId('cmpl');
      const created = Math.floor(Date.now() / 1000);
      const base = { id, object: 'text_completion', created, model: model.id, system_fingerprint: null };
      const events = new ChunkEvents(base, includeUsage);
      const sent: number[] = new Array(count).fill(0);
      const sendEcho = (index: number, logprobs: LegacyLogprobs | null) => {
        sent[index] = texts[index]!.length;
        sse.sendChoice(events, { index, text: texts[index], logprobs, finish_reason: null });
      };
      const group = runChoiceGroup(scheduler, model.tokenizer, specs, {
        onPromptLogprobs: (index, entries) => {
          // The echoed prompt is sent with its log-probabilities once the prefill has computed them.
          onPromptLogprobs(index, entries);
          for (let j = 0; j < n; j++) sendEcho(index + j, lps[index + j]!);
        },
        onDelta: (index, d) => {
          let lp: LegacyLogprobs | null = null;
          if (topLogprobs >= 0) {
            lp = emptyLegacyLogprobs();
            appendTokens(lp, sent[index]!, d.tokens);
          }
          sent[index]! += d.text.length;
          if (d.text.length > 0 || lp)
            sse.sendChoice(events, { index, text: d.text, logprobs: lp, finish_reason: null });
        },
        onChoiceDone: (index, reason, c) => {
          completionTokens += c;
          sse.sendChoice(events, { index, text: '', logprobs: null, finish_reason: reason });
        },
      });
      reply.hijack();
      const sse = new SseStream(reply.raw, () => group.cancel());
      if (echo && topLogprobs < 0) for (const s of specs) sendEcho(s.index, null);
      const result = await group.done;
      sse.finish(result, includeUsage ? () => ({ ...base, choices: [], usage: usage() }) : undefined);
      return reply;
    }

    const group = runChoiceGroup(scheduler, model.tokenizer, specs, {
      onPromptLogprobs,
      onDelta: (index, d) => {
        if (topLogprobs >= 0) appendTokens(lps[index]!, texts[index]!.length, d.tokens);
        texts[index] += d.text;
      },
      onChoiceDone: (index, reason, c) => {
        reasons[index] = reason;
        completionTokens += c;
      },
    });
    onClientGone(request, reply, () => group.cancel());
    const result = await group.done;
    if (result.error) throw new ApiError(500, `generation failed: ${result.error.message}`);
    if (result.cancelled) throw new ApiError(503, 'generation was cancelled (server shutting down)');
    return {
      id: requestId('cmpl'),
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: model.id,
      system_fingerprint: null,
      choices: texts.map((text, index) => ({
        index,
        text,
        logprobs: topLogprobs >= 0 ? lps[index] : null,
        finish_reason: reasons[index],
      })),
      usage: usage(),
    };
  });
}
