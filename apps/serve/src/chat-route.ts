/**
 * `POST /v1/chat/completions`: messages → the model's chat template → n choices, streamed as SSE chunks or
 * returned as one `chat.completion` object.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, badRequest } from './errors.js';
import { type ChoiceSpec, runChoiceGroup } from './generation.js';
import { type ChatLogprob, chatLogprob, TokenStrings } from './logprobs-format.js';
import { generationLimit, type SamplingFields, samplingParams, stopStrings } from './request-params.js';
import { checkModelName, onClientGone, type RouteContext, requestId } from './route-context.js';
import type { FinishReason } from './scheduler.js';
import { chatCompletionSchema } from './schemas.js';
import type { ChatMessage, ServedModel } from './served-model.js';
import { ChunkEvents, SseStream } from './sse.js';

/** The validated request body. */
export interface ChatCompletionBody extends SamplingFields {
  model: string;
  messages: { role: string; content?: string | { type: string; text?: string }[] | null }[];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null } | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
}

/** Joins text parts; maps `developer` to `system` and `tool` to `user` (our templates know three roles). */
export function toChatMessages(messages: ChatCompletionBody['messages']): ChatMessage[] {
  return messages.map((m, i) => {
    let content = '';
    if (typeof m.content === 'string') content = m.content;
    else if (Array.isArray(m.content)) {
      for (const part of m.content) {
        if (part.type !== 'text') {
          throw badRequest(`messages[${i}].content: only text parts are supported, got '${part.type}'`, 'messages');
        }
        content += part.text ?? '';
      }
    }
    const role = m.role === 'developer' ? 'system' : m.role === 'tool' ? 'user' : m.role;
    return { role: role as ChatMessage['role'], content };
  });
}

/** Renders messages with the model's template; a conversation the template rejects is a 400, not a 500. */
export function renderChatOr400(model: ServedModel, messages: ChatMessage[], addGenerationPrompt: boolean): number[] {
  try {
    return model.renderChat(messages, addGenerationPrompt);
  } catch (e) {
    throw badRequest(`messages: ${e instanceof Error ? e.message : String(e)}`, 'messages');
  }
}

/** Registers the route. */
export function registerChatRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/v1/chat/completions', { schema: { body: chatCompletionSchema } }, async (request, reply) => {
    const body = request.body as ChatCompletionBody;
    const { model, scheduler } = ctx.ready();
    checkModelName(model, body.model);
    const prompt = renderChatOr400(model, toChatMessages(body.messages), true);
    const context = model.engine.maxContext;
    const maxTokens = generationLimit(
      prompt.length,
      body.max_completion_tokens ?? body.max_tokens,
      context,
      'messages',
    );
    if (body.top_logprobs != null && !body.logprobs) {
      throw badRequest('top_logprobs requires logprobs: true', 'top_logprobs');
    }
    const topLogprobs = body.logprobs ? (body.top_logprobs ?? 0) : -1;
    const n = body.n ?? 1;
    const stops = stopStrings(body.stop);
    const specs: ChoiceSpec[] = Array.from({ length: n }, (_, index) => ({
      index,
      stops,
      request: {
        prompt,
        maxTokens,
        sampling: samplingParams(body, model.engine.vocabSize, index),
        eosIds: model.eosIds,
        topLogprobs,
      },
    }));
    const id = requestId('chatcmpl');
    const created = Math.floor(Date.now() / 1000);
    const strings = new TokenStrings(model.tokenizer);
    const texts: string[] = new Array(n).fill('');
    const logprobs: ChatLogprob[][] = Array.from({ length: n }, () => []);
    const reasons: FinishReason[] = new Array(n).fill('stop');
    let completionTokens = 0;
    const usage = () => ({
      prompt_tokens: prompt.length,
      completion_tokens: completionTokens,
      total_tokens: prompt.length + completionTokens,
    });
    const toLogprobs = (tokens: { id: number; logprob?: number; top?: { id: number; logprob: number }[] }[]) =>
      tokens.map((t) => chatLogprob(strings, t.id, t.logprob ?? 0, t.top ?? []));

    if (body.stream) {
      const includeUsage = !!body.stream_options?.include_usage;
      const base = { id, object: 'chat.completion.chunk', created, model: model.id, system_fingerprint: null };
      const events = new ChunkEvents(base, includeUsage);
      const group = runChoiceGroup(scheduler, model.tokenizer, specs, {
        onDelta: (index, d) => {
          const lp = topLogprobs >= 0 ? { content: toLogprobs(d.tokens), refusal: null } : null;
          if (d.text.length > 0 || lp) {
            sse.sendChoice(events, { index, delta: { content: d.text }, logprobs: lp, finish_reason: null });
          }
        },
        onChoiceDone: (index, reason, count) => {
          completionTokens += count;
          sse.sendChoice(events, { index, delta: {}, logprobs: null, finish_reason: reason });
        },
      });
      reply.hijack();
      const sse = new SseStream(reply.raw, () => group.cancel());
      for (let index = 0; index < n; index++) {
        sse.sendChoice(events, {
          index,
          delta: { role: 'assistant', content: '' },
          logprobs: null,
          finish_reason: null,
        });
      }
      const result = await group.done;
      sse.finish(result, includeUsage ? () => ({ ...base, choices: [], usage: usage() }) : undefined);
      return reply;
    }

    const group = runChoiceGroup(scheduler, model.tokenizer, specs, {
      onDelta: (index, d) => {
        texts[index] += d.text;
        if (topLogprobs >= 0) logprobs[index]!.push(...toLogprobs(d.tokens));
      },
      onChoiceDone: (index, reason, count) => {
        reasons[index] = reason;
        completionTokens += count;
      },
    });
    onClientGone(request, reply, () => group.cancel());
    const result = await group.done;
    if (result.error) throw new ApiError(500, `generation failed: ${result.error.message}`);
    if (result.cancelled) throw new ApiError(503, 'generation was cancelled (server shutting down)');
    return {
      id,
      object: 'chat.completion',
      created,
      model: model.id,
      system_fingerprint: null,
      choices: texts.map((content, index) => ({
        index,
        message: { role: 'assistant', content, refusal: null },
        logprobs: topLogprobs >= 0 ? { content: logprobs[index], refusal: null } : null,
        finish_reason: reasons[index],
      })),
      usage: usage(),
    };
  });
}
