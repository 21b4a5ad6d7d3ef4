/**
 * What route handlers share: the loaded model and scheduler (or a 503 while loading or shutting down), metrics,
 * and helpers for request ids and the `model` field check.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import type { Scheduler } from './scheduler.js';
import type { ServedModel } from './served-model.js';

/** State handed to every route. */
export interface RouteContext {
  /** The model and its scheduler; throws 503 while loading or after shutdown began. */
  ready(): { model: ServedModel; scheduler: Scheduler };
  readonly metrics: ServeMetrics;
}

/** Throws 404 unless `name` is the served model's id. */
export function checkModelName(model: ServedModel, name: string | undefined): void {
  if (name !== undefined && name !== model.id) {
    throw new ApiError(404, `The model '${name}' does not exist; this server serves '${model.id}'.`, {
      param: 'model',
      code: 'model_not_found',
    });
  }
}

/** A random id such as `chatcmpl-…`. */
export function requestId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

/** Calls `onGone` if the client disconnects before the response has been fully sent. */
export function onClientGone(request: FastifyRequest, reply: FastifyReply, onGone: () => void): void {
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) onGone();
  });
  request.raw.on('aborted', onGone);
}
