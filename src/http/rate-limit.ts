// Per-caller fixed-window rate limiting with RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers)
// and 429 + Retry-After. The caller is the API key, the token subject, or the client address;
// failed authentication is counted per client address (see app.ts), so credentials cannot be
// guessed without limit. Counters live in a RateLimitCounter: in memory (each process enforces the
// limit alone), or in NATS KV (src/nats/kv-rate-counter.ts), so that every process behind a
// balancer counts against one shared limit.
import type { Context, MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { AppEnv } from './env.js';
import { TooManyRequestsProblem } from './problem.js';

/** Where the requests of one window are counted. */
export interface RateLimitCounter {
  /**
   * Counts one request of `id` in the window that starts at `windowStart` (ms since the epoch, a
   * multiple of the window length `windowMs`) and resolves to the count including it. Counts of
   * earlier windows may be forgotten.
   */
  increment(id: string, windowStart: number, windowMs: number): Promise<number>;
}

/** Counts in this process's memory: a new window forgets every caller at once (no sweep needed). */
export class MemoryRateLimitCounter implements RateLimitCounter {
  #windowStart = -1;
  #counts = new Map<string, number>();

  increment(id: string, windowStart: number): Promise<number> {
    if (windowStart !== this.#windowStart) {
      this.#windowStart = windowStart;
      this.#counts = new Map();
    }
    const used = (this.#counts.get(id) ?? 0) + 1;
    this.#counts.set(id, used);
    return Promise.resolve(used);
  }
}

export interface RateLimitOptions {
  readonly limit: number;
  readonly windowMs: number;
  readonly now?: () => number;
  /** Default: a MemoryRateLimitCounter. */
  readonly counter?: RateLimitCounter;
  /** `scope` keeps two limiters apart on one shared counter (requests, failed authentications). */
  readonly scope?: string;
}

/** A fixed-window counter per caller id. */
export class RateLimiter {
  private readonly now: () => number;
  private readonly windowSec: number;
  private readonly counter: RateLimitCounter;
  private readonly scope: string;

  constructor(private readonly o: RateLimitOptions) {
    this.now = o.now ?? Date.now;
    this.windowSec = Math.ceil(o.windowMs / 1000);
    this.counter = o.counter ?? new MemoryRateLimitCounter();
    this.scope = o.scope ?? 'req';
  }

  /**
   * Counts one request of `id`; throws 429 (with Retry-After) past the limit, else returns the
   * RateLimit-* headers to send. `what` names what is counted in the 429's detail.
   */
  async take(id: string, what = 'requests'): Promise<Record<string, string>> {
    const t = this.now();
    const windowStart = t - (t % this.o.windowMs);
    const used = await this.counter.increment(`${this.scope}:${id}`, windowStart, this.o.windowMs);
    const reset = Math.max(1, Math.ceil((windowStart + this.o.windowMs - t) / 1000));
    const headers = {
      'ratelimit-limit': String(this.o.limit),
      'ratelimit-remaining': String(Math.max(0, this.o.limit - used)),
      'ratelimit-reset': String(reset),
      'ratelimit-policy': `${this.o.limit};w=${this.windowSec}`,
    };
    if (used > this.o.limit)
      throw new TooManyRequestsProblem(
        `more than ${this.o.limit} ${what} in ${this.windowSec}s; retry after ${reset}s`,
        [],
        { headers: { ...headers, 'retry-after': String(reset) } },
      );
    return headers;
  }
}

/** Middleware counting every request of the caller `callerId` names against `limiter`. */
export function rateLimit(
  limiter: RateLimiter,
  callerId: (c: Context<AppEnv>) => string,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const headers = await limiter.take(callerId(c));
    await next();
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  };
}

/**
 * The client address. Without trusted proxies (`hops` 0), the socket's peer. Behind `hops` proxies
 * that each append the address they received from to X-Forwarded-For, the client is the entry
 * `hops` places from the right: entries further left were written by the client itself and
 * prove nothing. With fewer entries than hops, the leftmost one (as Express's `trust proxy` does).
 */
export function clientAddress(c: Context<AppEnv>, hops: number): string {
  if (hops > 0) {
    const fwd = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (fwd.length > 0) return fwd[Math.max(0, fwd.length - hops)]!;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // app.request() in tests has no socket
  }
}
