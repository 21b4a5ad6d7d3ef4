import { describe, expect, it } from 'vitest';
import { rateLimitKey, TokenBucketLimiter } from './rate-limit.js';

describe('TokenBucketLimiter', () => {
  it('allows a burst, then one request per refill interval, and says how long to wait', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ perMinute: 30, burst: 3 }, () => now); // one token per 2 s
    for (let i = 0; i < 3; i++) expect(limiter.take('a').allowed).toBe(true);
    const refused = limiter.take('a');
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 2 });
    now = 1500; // 0.75 of a token: still refused, 0.25 token (0.5 s) missing → rounds up to 1 s
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now = 2000;
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    // Another key has its own bucket.
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('matches an independent count of allowed requests over a random arrival schedule', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    let now = 0;
    const perMinute = 120; // 2 per second
    const burst = 5;
    const limiter = new TokenBucketLimiter({ perMinute, burst }, () => now);
    let allowed = 0;
    let tokens = burst;
    let last = 0;
    let expected = 0;
    for (let i = 0; i < 2000; i++) {
      now += rnd() * 900;
      // Reference: exact refill in float64 with the same cap.
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * (perMinute / 60));
      last = now;
      if (tokens >= 1) {
        tokens -= 1;
        expected++;
      }
      if (limiter.take('k').allowed) allowed++;
    }
    expect(allowed).toBe(expected);
    // Over ~15 minutes the count is bounded by the sustained rate plus the burst.
    expect(allowed).toBeLessThanOrEqual(Math.ceil((now / 1000) * 2) + burst);
  });

  it('forgets refilled keys when it tracks too many, and never grows past maxKeys', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ perMinute: 60, burst: 1, maxKeys: 100 }, () => now);
    for (let i = 0; i < 1000; i++) {
      limiter.take(`k${i}`);
      now += 10;
      expect(limiter.size).toBeLessThanOrEqual(100);
    }
  });

  it('rejects nonsense limits with a message naming the field', () => {
    expect(() => new TokenBucketLimiter({ perMinute: 0 })).toThrow(/perMinute/);
    expect(() => new TokenBucketLimiter({ perMinute: 10, burst: 0 })).toThrow(/burst/);
  });

  it('keys by bearer token (hashed) or by address', () => {
    const a = rateLimitKey('Bearer sk-secret', '1.2.3.4');
    expect(a).toMatch(/^key:[0-9a-f]{32}$/);
    expect(a).not.toContain('secret');
    expect(rateLimitKey('Bearer sk-secret', '5.6.7.8')).toBe(a);
    expect(rateLimitKey('Bearer other', '1.2.3.4')).not.toBe(a);
    expect(rateLimitKey(undefined, '1.2.3.4')).toBe('ip:1.2.3.4');
  });
});
