// A lease in the KV bucket decides which of several instances streams a source (or runs a webhook
// endpoint's consumer); the others wait.
// The holder renews it every ttl/3. Offset commits and source acknowledgements are fenced by it
// (LeaseFence): a holder that lost the lease, or let it expire while NATS was out of reach, stops
// streaming and goes back to waiting. The offset's compare-and-set stays the last line of defence.
import type { KV, KvEntry } from '@nats-io/kv';
import { hostname } from 'node:os';
import { LeaseLostError } from '../core/errors.js';
import type { Lease } from '../core/lease.js';
import type { Logger } from '../core/source-adapter.js';
import { sleep } from '../util/sleep.js';
import { describeNatsError } from './jetstream-errors.js';
import { kvKey, type KvEntryKind } from './subjects.js';

interface LeaseBody {
  owner: string;
  expiresAt: number;
  /** The fleet member (sluice process) holding it, for `sluice status`. */
  instance?: string;
}

export class SourceLease implements Lease {
  readonly owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  readonly #kv: KV;
  readonly #key: string;
  readonly #ttlMs: number;
  /** The revision of the lease entry this instance last wrote; meaningful only while #held. */
  #revision = 0;
  #held = false;
  /** The expiry written into the lease at the last successful take or renewal (this process's clock). */
  #expiresAt = 0;
  #timer: NodeJS.Timeout | null = null;
  #log: Logger | null = null;

  /** `kind`: which lease: a source's capture ('lease'), its resource router's, or a webhook endpoint's, or a sink's ('sinkLease'; sink and source names may be the same). */
  constructor(
    kv: KV,
    source: string,
    ttlMs: number,
    kind: Extract<KvEntryKind, 'lease' | 'router' | 'webhook-lease' | 'sinkLease'> = 'lease',
    readonly instance?: string,
  ) {
    this.#kv = kv;
    this.#key = kvKey(kind, source);
    this.#ttlMs = ttlMs;
  }

  get key(): string {
    return this.#key;
  }

  /** True from a successful take until the lease is lost, released or dropped. */
  get held(): boolean {
    return this.#held;
  }

  /** Waits until this instance holds the lease, then keeps it renewed; `onLost` fires if it is lost. */
  async acquire(
    signal: AbortSignal,
    log: Logger,
    onLost: (err: Error) => void,
    gate?: { reserve(): boolean; cancel(): void },
  ): Promise<boolean> {
    this.#log = log;
    let told = false;
    while (!signal.aborted) {
      const reserved = gate ? gate.reserve() : true;
      const took = reserved && (await this.#tryTake());
      if (reserved && !took) gate?.cancel();
      if (took) {
        this.#timer = setInterval(
          () => {
            this.#renew().catch((err: unknown) => {
              this.release();
              onLost(err instanceof Error ? err : new Error(String(err)));
            });
          },
          Math.max(100, this.#ttlMs / 3),
        );
        this.#timer.unref();
        return true;
      }
      if (!told && reserved)
        log.info({ lease: this.#key }, 'another instance holds this lease; waiting to take over');
      told ||= reserved;
      await sleep(Math.max(100, this.#ttlMs / 3), signal); // a stopping standby stops at once
    }
    return false;
  }

  #body(): { text: string; expiresAt: number } {
    const expiresAt = Date.now() + this.#ttlMs;
    const body: LeaseBody = {
      owner: this.owner,
      expiresAt,
      ...(this.instance ? { instance: this.instance } : {}),
    };
    return { text: JSON.stringify(body), expiresAt };
  }

  async #tryTake(): Promise<boolean> {
    const body = this.#body();
    try {
      // A read that times out (a node just killed, a new replicated bucket) leaves us standing by.
      const e = await this.#kv.get(this.#key);
      if (!e || e.operation !== 'PUT' || e.value.length === 0) {
        this.#took(
          e
            ? await this.#kv.update(this.#key, body.text, e.revision)
            : await this.#kv.create(this.#key, body.text),
          body.expiresAt,
        );
        return true;
      }
      const cur = e.json<LeaseBody>();
      if (cur.owner !== this.owner && cur.expiresAt > Date.now()) return false;
      this.#took(await this.#kv.update(this.#key, body.text, e.revision), body.expiresAt);
      return true;
    } catch (err) {
      // Another instance won the race (wrong last sequence), or NATS did not answer: try again later.
      this.#log?.debug({ lease: this.#key, err: describeNatsError(err) }, 'could not take the lease now');
      return false;
    }
  }

  #took(revision: number, expiresAt: number): void {
    this.#revision = revision;
    this.#expiresAt = expiresAt;
    this.#held = true;
  }

  /** Whether `e` is the lease as this instance holds it (an own write whose reply was lost counts). */
  #ours(e: KvEntry | null): e is KvEntry {
    return (
      e !== null && e.operation === 'PUT' && e.value.length > 0 && e.json<LeaseBody>().owner === this.owner
    );
  }

  async #renew(): Promise<void> {
    const body = this.#body();
    try {
      const revision = await this.#kv.update(this.#key, body.text, this.#revision);
      if (this.#timer !== null) this.#took(revision, body.expiresAt); // not if released meanwhile
    } catch (err) {
      if (this.#timer === null) return;
      await this.#recheck(err);
    }
  }

  /** After a failed renewal: adopts the lease if it still names this instance, else throws LeaseLostError. */
  async #recheck(err: unknown): Promise<void> {
    let e: KvEntry | null;
    try {
      e = await this.#kv.get(this.#key);
    } catch {
      // NATS unreachable: keep streaming while the lease we wrote is unexpired (no other instance
      // may take it before then); past that, another one may have, so stop.
      if (Date.now() < this.#expiresAt) return;
      throw new LeaseLostError(`the lease on ${this.#key} expired while NATS was unreachable`, {
        cause: err,
      });
    }
    if (this.#ours(e)) {
      this.#took(e.revision, e.json<LeaseBody>().expiresAt);
      return;
    }
    throw new LeaseLostError(this.#lostReason(e), { cause: err });
  }

  #lostReason(e: KvEntry | null): string {
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return `the lease on ${this.#key} was deleted`;
    return `lost the lease on ${this.#key} to another instance (${e.json<LeaseBody>().owner})`;
  }

  async assertHeld(): Promise<void> {
    if (!this.#held) throw new LeaseLostError(`this instance does not hold the lease on ${this.#key}`);
    // The margin covers the time a commit takes to land after this check.
    const margin = Math.min(1000, this.#ttlMs / 10);
    if (Date.now() < this.#expiresAt - margin) return;
    // Late: a renewal did not run in time (a blocked event loop) or did not get through. Renewing
    // now by compare-and-set on the revision this instance wrote succeeds only if nobody took the
    // lease meanwhile; whatever else happened, the commit must not go ahead.
    const body = this.#body();
    try {
      this.#took(await this.#kv.update(this.#key, body.text, this.#revision), body.expiresAt);
    } catch (err) {
      await this.#recheck(err);
      if (Date.now() >= this.#expiresAt - margin)
        throw new LeaseLostError(`the lease on ${this.#key} expired and could not be renewed`, {
          cause: err,
        });
    }
  }

  async confirmHeld(): Promise<boolean> {
    await this.assertHeld();
    let e: KvEntry | null;
    try {
      e = await this.#kv.get(this.#key);
    } catch {
      return false;
    }
    // The owner names this instance alone, so an entry naming it is the lease this instance took
    // (at this revision, or at a later one its own renewal wrote meanwhile).
    if (this.#ours(e)) return true;
    this.release();
    throw new LeaseLostError(this.#lostReason(e));
  }

  /** Stops renewing; the lease is no longer this instance's to use. */
  release(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#held = false;
  }

  /**
   * Gives the lease up at once (clean shutdown), so a standby takes over without waiting for
   * expiry. Only a holder deletes, and only the revision it wrote: a delete without a revision is
   * unconditional in NATS KV and would remove another instance's lease.
   */
  async drop(): Promise<void> {
    const held = this.#held;
    this.release();
    if (!held || this.#revision <= 0) return;
    await this.#kv.delete(this.#key, { previousSeq: this.#revision }).catch(() => {});
  }
}
