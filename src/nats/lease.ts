// A lease in the KV bucket decides which of several instances streams a source; the others wait.
// The offset's compare-and-set stays the last line of defence if two ever overlap.
import type { KV } from '@nats-io/kv';
import { hostname } from 'node:os';
import { OffsetConflictError } from '../core/errors.js';
import type { Logger } from '../core/source-adapter.js';
import { kvKey } from './subjects.js';

interface LeaseBody {
  owner: string;
  expiresAt: number;
}

export class SourceLease {
  readonly owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  readonly #kv: KV;
  readonly #key: string;
  readonly #ttlMs: number;
  #revision = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(kv: KV, source: string, ttlMs: number) {
    this.#kv = kv;
    this.#key = kvKey('lease', source);
    this.#ttlMs = ttlMs;
  }

  /** Waits until this instance holds the lease, then keeps it renewed; `onLost` fires if another takes it. */
  async acquire(signal: AbortSignal, log: Logger, onLost: (err: Error) => void): Promise<boolean> {
    let told = false;
    while (!signal.aborted) {
      if (await this.#tryTake()) {
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
      if (!told) log.info({ lease: this.#key }, 'another instance holds this source; waiting to take over');
      told = true;
      await new Promise((r) => setTimeout(r, Math.max(100, this.#ttlMs / 3)));
    }
    return false;
  }

  async #tryTake(): Promise<boolean> {
    const body = JSON.stringify({
      owner: this.owner,
      expiresAt: Date.now() + this.#ttlMs,
    } satisfies LeaseBody);
    const e = await this.#kv.get(this.#key);
    try {
      if (!e || e.operation !== 'PUT' || e.value.length === 0) {
        this.#revision = e
          ? await this.#kv.update(this.#key, body, e.revision)
          : await this.#kv.create(this.#key, body);
        return true;
      }
      const cur = e.json<LeaseBody>();
      if (cur.owner !== this.owner && cur.expiresAt > Date.now()) return false;
      this.#revision = await this.#kv.update(this.#key, body, e.revision);
      return true;
    } catch {
      return false; // someone else won the race
    }
  }

  async #renew(): Promise<void> {
    const body = JSON.stringify({
      owner: this.owner,
      expiresAt: Date.now() + this.#ttlMs,
    } satisfies LeaseBody);
    try {
      this.#revision = await this.#kv.update(this.#key, body, this.#revision);
    } catch (err) {
      // A NATS outage also lands here: if the lease still names us once NATS is back, keep going.
      const e = await this.#kv.get(this.#key).catch(() => null);
      if (e && e.operation === 'PUT' && e.value.length > 0 && e.json<LeaseBody>().owner === this.owner) {
        this.#revision = e.revision;
        return;
      }
      if (!e) return; // NATS unreachable: the offset CAS still guards; try again next tick
      throw new OffsetConflictError(`lost the lease on ${this.#key} to another instance`, { cause: err });
    }
  }

  release(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Gives the lease up at once (clean shutdown), so a standby takes over without waiting for expiry. */
  async drop(): Promise<void> {
    this.release();
    await this.#kv.delete(this.#key, { previousSeq: this.#revision }).catch(() => {});
  }
}
