// Per-caller fixed-window rate limiting with RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers)
// and 429 + Retry-After. The caller is the API key, the token subject, or the client address.
// Counters are in memory: with several instances behind a balancer, each enforces its own share.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.js';
import { TooManyRequestsProblem } from './problem.js';

export interface RateLimitOptions {
  readonly limit: number;
  readonly windowMs: number;
  /** Identifies the caller of a request. */
  readonly callerId: (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => string;
  readonly now?: () => number;
}

export function rateLimit(o: RateLimitOptions): MiddlewareHandler<AppEnv> {
  const now = o.now ?? Date.now;
  const windowSec = Math.ceil(o.windowMs / 1000);
  let windowStart = 0;
  let counts = new Map<string, number>();
  return async (c, next) => {
    const t = now();
    if (t - windowStart >= o.windowMs) {
      windowStart = t - (t % o.windowMs);
      counts = new Map(); // a new window forgets every caller at once: no sweep needed
    }
    const id = o.callerId(c);
    const used = (counts.get(id) ?? 0) + 1;
    counts.set(id, used);
    const reset = Math.max(1, Math.ceil((windowStart + o.windowMs - t) / 1000));
    const headers = {
      'ratelimit-limit': String(o.limit),
      'ratelimit-remaining': String(Math.max(0, o.limit - used)),
      'ratelimit-reset': String(reset),
      'ratelimit-policy': `${o.limit};w=${windowSec}`,
    };
    if (used > o.limit)
      throw new TooManyRequestsProblem(
        `more than ${o.limit} requests in ${windowSec}s; retry after ${reset}s`,
        [],
        {
          headers: { ...headers, 'retry-after': String(reset) },
        },
      );
    await next();
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  };
}
