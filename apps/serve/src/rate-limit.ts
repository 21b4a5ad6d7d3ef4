/**
 * Per-key rate limits as token buckets: each key (an API key, else the client address) holds up to `burst` tokens,
 * refilled continuously at `perMinute / 60` per second; a request takes one, and a key with none gets 429 and a
 * `Retry-After` of the seconds until its next token.
 *
 * Why not @fastify/rate-limit: it counts requests in fixed windows, so a client may send twice its limit across a
 * window boundary, and its Retry-After is the time to the window's end rather than to the next token.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/** Limits of {@link TokenBucketLimiter}. */
export interface RateLimitOptions {
  /** Sustained requests per minute per key. */
  perMinute: number;
  /** Requests a key may send at once after being idle (default: perMinute / 6, at least 1: ten seconds' worth). */
  burst?: number;
  /** Keys tracked before idle ones are forgotten (default 100 000). */
  maxKeys?: number;
}

/** The outcome of one request: allowed, or refused with the whole seconds to wait. */
export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets keyed by client; time in milliseconds from an injectable clock (tests). */
export class TokenBucketLimiter {
  readonly perSecond: number;
  readonly burst: number;
  readonly maxKeys: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    options: RateLimitOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(options.perMinute > 0)) throw new Error(`rate limit: perMinute must be > 0, got ${options.perMinute}`);
    this.perSecond = options.perMinute / 60;
    this.burst = options.burst ?? Math.max(1, Math.floor(options.perMinute / 6));
    if (!(this.burst >= 1)) throw new Error(`rate limit: burst must be ≥ 1, got ${this.burst}`);
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  /** Takes one token from `key`'s bucket if it has one. */
  take(key: string): RateDecision {
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
      b.at = t;
    } else {
      if (this.buckets.size >= this.maxKeys) this.forgetFull(t);
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, remaining: Math.floor(b.tokens) };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond)) };
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /** Drops buckets that have refilled completely (they behave as new ones); if none has, the oldest half. */
  private forgetFull(t: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
    if (this.buckets.size < this.maxKeys) return;
    let drop = Math.ceil(this.buckets.size / 2);
    for (const key of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}

/**
 * The rate-limit key of a request: its bearer token (hashed, so keys are never held in memory or logs), else the
 * client address.
 */
export function rateLimitKey(authorization: string | undefined, ip: string): string {
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (m) return `key:${createHash('sha256').update(m[1]!).digest('hex').slice(0, 32)}`;
  return `ip:${ip}`;
}
