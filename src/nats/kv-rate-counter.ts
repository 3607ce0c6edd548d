// Rate-limit counters shared by every REST process through a NATS KV bucket, so N processes behind
// a balancer enforce one limit. One key per caller and window (`<windowMs>.<windowStart>.<hash of
// the caller>`), advanced only by compare-and-set on its revision: two processes never both count
// the same request slot, so together they admit exactly `limit`. Requests that arrive while an
// update is in flight are added by the next update in one step (a burst costs one round trip, not
// one per request). The bucket's max age expires old windows. While NATS cannot be reached the
// process counts in memory (each process then enforces the limit alone) and says so once.
import { createHash } from 'node:crypto';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../core/source-adapter.js';
import { MemoryRateLimitCounter, type RateLimitCounter } from '../http/rate-limit.js';
import { describeNatsError, isWrongLastSequence } from './jetstream-errors.js';

interface Slot {
  /** The count and revision this process last saw for the key (revision 0: not in the bucket). */
  count: number;
  revision: number;
  /** Requests waiting for the next update, in arrival order. */
  waiting: { resolve: (n: number) => void; reject: (e: unknown) => void }[];
  busy: boolean;
  windowStart: number;
}

/** Compare-and-set attempts per update before giving up (each failure re-reads the key). */
const MAX_ATTEMPTS = 20;

export class KvRateLimitCounter implements RateLimitCounter {
  readonly #kv: KV;
  readonly #log: Logger | undefined;
  readonly #slots = new Map<string, Slot>();
  readonly #fallback = new MemoryRateLimitCounter();
  #degraded = false;

  constructor(kv: KV, log?: Logger) {
    this.#kv = kv;
    this.#log = log;
  }

  /** Opens (or creates) the bucket; its max age outlasts the longest window. */
  static async open(
    nc: NatsConnection,
    bucket: string,
    longestWindowMs: number,
    opts: { replicas?: number; log?: Logger } = {},
  ): Promise<KvRateLimitCounter> {
    const ttl = 2 * longestWindowMs;
    const kv = await new Kvm(nc).create(bucket, { history: 1, ttl, replicas: opts.replicas ?? 1 });
    const status = await kv.status();
    if (status.ttl > 0 && status.ttl < longestWindowMs)
      opts.log?.warn(
        { bucket, ttlMs: status.ttl, windowMs: longestWindowMs },
        'the rate-limit bucket forgets counts before a window ends: recreate it (or use another bucket name)',
      );
    return new KvRateLimitCounter(kv, opts.log);
  }

  increment(id: string, windowStart: number, windowMs: number): Promise<number> {
    const key = `${windowMs}.${windowStart}.${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
    let slot = this.#slots.get(key);
    if (!slot) {
      this.#forgetBefore(windowStart);
      slot = { count: 0, revision: 0, waiting: [], busy: false, windowStart };
      this.#slots.set(key, slot);
    }
    const s = slot;
    return new Promise<number>((resolve, reject) => {
      s.waiting.push({ resolve, reject });
      if (!s.busy) void this.#flush(key, s);
    }).catch(async (err: unknown) => {
      if (!this.#degraded)
        this.#log?.warn(
          { err: describeNatsError(err) },
          'rate-limit counters in NATS KV cannot be updated: counting in this process alone meanwhile',
        );
      this.#degraded = true;
      return this.#fallback.increment(id, windowStart);
    });
  }

  /** Slots of windows that have ended are never asked for again. */
  #forgetBefore(windowStart: number): void {
    for (const [k, s] of this.#slots) if (s.windowStart < windowStart && !s.busy) this.#slots.delete(k);
  }

  /** Adds every waiting request in one compare-and-set, until none waits. */
  async #flush(key: string, s: Slot): Promise<void> {
    s.busy = true;
    try {
      while (s.waiting.length > 0) {
        const batch = s.waiting.splice(0);
        try {
          const base = await this.#add(key, s, batch.length);
          batch.forEach((w, i) => w.resolve(base + i + 1));
          this.#degraded = false;
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      s.busy = false;
    }
  }

  /** Adds `n` to the key by compare-and-set; resolves to the count before the addition. */
  async #add(key: string, s: Slot, n: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const next = String(s.count + n);
        s.revision =
          s.revision > 0 ? await this.#kv.update(key, next, s.revision) : await this.#kv.create(key, next);
        const base = s.count;
        s.count += n;
        return base;
      } catch (err) {
        if (!isWrongLastSequence(err) || attempt + 1 >= MAX_ATTEMPTS) throw err;
        // Another process counted meanwhile: read where the key stands, then try again from there.
        const e = await this.#kv.get(key);
        const live = e !== null && e.operation === 'PUT';
        s.count = live ? Number(e.string()) : 0;
        s.revision = live ? e.revision : 0;
      }
    }
  }
}
