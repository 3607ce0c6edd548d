// The SourceBus over NATS: a JetStream stream for events, a KV bucket for offsets, leases and status.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { PublisherHooks, SourceBus } from '../core/bus.js';
import type { Lease } from '../core/lease.js';
import type { Publisher } from '../core/publisher.js';
import type { SourceContext } from '../core/source-adapter.js';
import { DeadLetterBodies, deadLetterBucket } from './dead-letter-bodies.js';
import { SourceLease } from './lease.js';
import { KvOffsetStore } from './offset-store.js';
import { JetStreamPublisher } from './publisher.js';
import { lastPublished } from './stream-reader.js';
import { kvKey } from './subjects.js';

export interface NatsBusOptions {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly kv: KV;
  readonly stream: string;
  readonly prefix: string;
  readonly publishWindow: number;
  readonly publishTimeoutMs: number;
  readonly leaseTtlMs: number;
  /** The fleet member id of this process, written into its leases. */
  readonly instance?: string;
  /** Replicas and storage of the dead-letter body bucket (the stream's). */
  readonly replicas?: number;
  readonly storage?: 'file' | 'memory';
}

export class NatsBus implements SourceBus {
  readonly offsets: KvOffsetStore;
  readonly #o: NatsBusOptions;
  readonly #bodies: DeadLetterBodies;

  constructor(opts: NatsBusOptions) {
    this.#o = opts;
    this.offsets = new KvOffsetStore(opts.kv);
    this.#bodies = new DeadLetterBodies(opts.nc, deadLetterBucket(opts.stream), {
      replicas: opts.replicas ?? 1,
      storage: opts.storage ?? 'file',
    });
  }

  keepDeadLetter(msgId: string, body: string): Promise<{ bucket: string; name: string }> {
    return this.#bodies.keep(msgId, body);
  }

  publisher(hooks: PublisherHooks): Publisher {
    return new JetStreamPublisher(this.#o.nc, {
      window: this.#o.publishWindow,
      timeoutMs: this.#o.publishTimeoutMs,
      ...hooks,
    });
  }

  lease(source: string): Lease {
    return new SourceLease(this.#o.kv, source, this.#o.leaseTtlMs, 'lease', this.#o.instance);
  }

  lastPublished(source: string, signal: AbortSignal): Promise<SourceContext['lastPublished']> {
    return lastPublished(this.#o.jsm, this.#o.stream, this.#o.prefix, source, { signal });
  }

  async writeStatus(source: string, status: object): Promise<void> {
    await this.#o.kv.put(kvKey('status', source), JSON.stringify(status)).catch(() => {});
  }
}
