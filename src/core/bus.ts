// Everything the pipeline needs from the bus for one source, behind interfaces: the coordinator
// and dispatcher use only this. Implemented for NATS JetStream by src/nats/bus.ts.
import type { Lease } from './lease.js';
import type { OffsetStore } from './offset-store.js';
import type { Publisher, PublishRequest } from './publisher.js';
import type { Logger, SourceContext } from './source-adapter.js';

export interface PublisherHooks {
  readonly log?: Logger;
  /** A publish is being retried (reason in words). */
  readonly onRetry?: (reason: string) => void;
  /** An event was stored for the first time (not a duplicate). */
  readonly onStored?: (req: PublishRequest) => void;
  /** A retried event was stored after a later one. */
  readonly onReorder?: (subject: string) => void;
}

export interface SourceBus {
  /** Where committed offsets live. */
  readonly offsets: OffsetStore;
  /** A fresh publisher (one per attempt: closing it releases everything waiting on it). */
  publisher(hooks: PublisherHooks): Publisher;
  /** The lease of one source, for one instance. */
  lease(source: string): Lease;
  /**
   * The last event of `source` the bus holds (null only when it holds none), for exact snapshot
   * resume; throws a retriable error when that cannot be read.
   */
  lastPublished(source: string, signal: AbortSignal): Promise<SourceContext['lastPublished']>;
  /**
   * Keeps the body of an event that cannot be published (larger than max_payload) under its
   * Nats-Msg-Id, so `sluice dlq replay` can publish it once it fits; returns where it is kept.
   */
  keepDeadLetter(msgId: string, body: string): Promise<{ bucket: string; name: string }>;
  /** Records the state of a source for `sluice status` (best effort). */
  writeStatus(source: string, status: object): Promise<void>;
}
