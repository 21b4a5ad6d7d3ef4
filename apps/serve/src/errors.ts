/**
 * OpenAI-style error bodies: `{ "error": { "message", "type", "param", "code" } }`, thrown as `ApiError`
 * anywhere in a handler and rendered by the server's error handler.
 *
 * @module
 */

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * An error with an HTTP status that the server renders as an OpenAI error body (`retryAfter`, in seconds, also
 * sends a `Retry-After` header: 429 and 503).
 */
export class ApiError extends Error {
  /** `type` defaults from the status (4xx: invalid_request_error, 5xx: server_error). */
  constructor(
    readonly status: number,
    message: string,
    readonly options: { type?: string; param?: string | null; code?: string | null; retryAfter?: number } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The response body. */
  body(): ErrorBody {
    return errorBody(this.status, this.message, this.options);
  }
}

/** Builds an error body; `type` defaults from the status. */
export function errorBody(
  status: number,
  message: string,
  options: { type?: string; param?: string | null; code?: string | null } = {},
): ErrorBody {
  const type = options.type ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
  return { error: { message, type, param: options.param ?? null, code: options.code ?? null } };
}

/** 400 with the offending parameter named. */
export function badRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
  return new ApiError(400, message, { param, code });
}
