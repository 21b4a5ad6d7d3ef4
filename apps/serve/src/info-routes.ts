/**
 * The small endpoints: `GET /v1/models`, `POST /tokenize`, `POST /detokenize`, `GET /health`, `GET /metrics`.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { renderChatOr400, toChatMessages } from './chat-route.js';
import { ApiError, errorBody } from './errors.js';
import { checkModelName, type RouteContext } from './route-context.js';
import { detokenizeSchema, tokenizeSchema } from './schemas.js';

/** Registers the routes; `isReady` and `loadError` describe the model loading state. */
export function registerInfoRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  state: { isReady(): boolean; loadError(): Error | null; draining(): boolean },
): void {
  app.get('/health', async (_request, reply) => {
    const err = state.loadError();
    if (err) return reply.code(503).send({ status: 'error', message: err.message });
    if (state.draining()) return reply.code(503).send({ status: 'shutting_down' });
    if (!state.isReady()) return reply.code(503).send({ status: 'loading' });
    return { status: 'ok' };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return ctx.metrics.render();
  });

  const modelCard = () => {
    const { model } = ctx.ready();
    return {
      id: model.id,
      object: 'model',
      created: model.created,
      owned_by: 'andes',
      max_model_len: model.engine.maxContext,
      // Not in OpenAI's schema (clients ignore it): the template's name, or null for a base model.
      ...(model.chatTemplate === undefined ? {} : { chat_template: model.chatTemplate }),
    };
  };
  app.get('/v1/models', async () => ({ object: 'list', data: [modelCard()] }));
  app.get('/v1/models/:id', async (request, reply) => {
    const card = modelCard();
    const { id } = request.params as { id: string };
    if (id !== card.id) {
      return reply
        .code(404)
        .send(errorBody(404, `The model '${id}' does not exist.`, { param: 'model', code: 'model_not_found' }));
    }
    return card;
  });

  app.post('/tokenize', { schema: { body: tokenizeSchema } }, async (request) => {
    const body = request.body as {
      model?: string;
      prompt?: string;
      messages?: Parameters<typeof toChatMessages>[0];
      add_special_tokens?: boolean;
      add_generation_prompt?: boolean;
    };
    const { model } = ctx.ready();
    checkModelName(model, body.model);
    let tokens: number[];
    if (body.messages !== undefined) {
      tokens = renderChatOr400(model, toChatMessages(body.messages), body.add_generation_prompt ?? true);
    } else if (body.prompt !== undefined) {
      tokens = model.tokenizer.encode(body.prompt, { bos: body.add_special_tokens ?? true });
    } else throw new ApiError(400, 'tokenize: give either prompt or messages', { param: 'prompt' });
    return { tokens, count: tokens.length, max_model_len: model.engine.maxContext };
  });

  app.post('/detokenize', { schema: { body: detokenizeSchema } }, async (request) => {
    const body = request.body as { model?: string; tokens: number[] };
    const { model } = ctx.ready();
    checkModelName(model, body.model);
    const bad = body.tokens.find((t) => t >= model.engine.vocabSize);
    if (bad !== undefined) {
      throw new ApiError(400, `detokenize: token id ${bad} is outside the vocabulary [0, ${model.engine.vocabSize})`, {
        param: 'tokens',
      });
    }
    return { prompt: model.tokenizer.decode(body.tokens) };
  });
}
