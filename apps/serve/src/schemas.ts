/**
 * JSON schemas for the request bodies, validated by Fastify (Ajv, no type coercion): a wrong type is a 400, never
 * a silent conversion. Unknown fields are accepted and ignored, as OpenAI clients send fields we do not use.
 *
 * @module
 */

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });

const samplingProperties = {
  model: { type: 'string' },
  max_tokens: nullable({ type: 'integer', minimum: 0 }),
  temperature: nullable({ type: 'number', minimum: 0, maximum: 2 }),
  top_p: nullable({ type: 'number', exclusiveMinimum: 0, maximum: 1 }),
  top_k: nullable({ type: 'integer', minimum: -1 }),
  n: nullable({ type: 'integer', minimum: 1, maximum: 16 }),
  stream: nullable({ type: 'boolean' }),
  stream_options: nullable({
    type: 'object',
    properties: { include_usage: nullable({ type: 'boolean' }) },
  }),
  stop: nullable({
    anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }],
  }),
  seed: nullable({ type: 'integer' }),
  presence_penalty: nullable({ type: 'number', minimum: -2, maximum: 2 }),
  frequency_penalty: nullable({ type: 'number', minimum: -2, maximum: 2 }),
  logit_bias: nullable({
    type: 'object',
    propertyNames: { pattern: '^-?[0-9]+$' },
    additionalProperties: { type: 'number', minimum: -100, maximum: 100 },
  }),
  user: nullable({ type: 'string' }),
} as const;

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' }, text: { type: 'string' } },
};

/** `POST /v1/chat/completions` body. */
export const chatCompletionSchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    ...samplingProperties,
    max_completion_tokens: nullable({ type: 'integer', minimum: 0 }),
    messages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['role'],
        properties: {
          role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
          content: nullable({ anyOf: [{ type: 'string' }, { type: 'array', items: contentPart }] }),
          name: { type: 'string' },
        },
      },
    },
    logprobs: nullable({ type: 'boolean' }),
    top_logprobs: nullable({ type: 'integer', minimum: 0, maximum: 20 }),
  },
} as const;

/** `POST /v1/completions` body (legacy). `prompt`: text, texts, token ids, or lists of token ids. */
export const completionSchema = {
  type: 'object',
  required: ['model', 'prompt'],
  properties: {
    ...samplingProperties,
    prompt: {
      anyOf: [
        { type: 'string' },
        { type: 'array', minItems: 1, items: { type: 'string' } },
        { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
        { type: 'array', minItems: 1, items: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } } },
      ],
    },
    echo: nullable({ type: 'boolean' }),
    logprobs: nullable({ type: 'integer', minimum: 0, maximum: 20 }),
    best_of: nullable({ type: 'integer', minimum: 1, maximum: 16 }),
    suffix: { type: 'null' },
  },
} as const;

/** `POST /tokenize` body: text (`prompt`) or chat `messages` rendered with the model's template. */
export const tokenizeSchema = {
  type: 'object',
  properties: {
    model: { type: 'string' },
    prompt: { type: 'string' },
    messages: chatCompletionSchema.properties.messages,
    add_special_tokens: { type: 'boolean' },
    add_generation_prompt: { type: 'boolean' },
  },
} as const;

/** `POST /detokenize` body. */
export const detokenizeSchema = {
  type: 'object',
  required: ['tokens'],
  properties: { model: { type: 'string' }, tokens: { type: 'array', items: { type: 'integer', minimum: 0 } } },
} as const;
