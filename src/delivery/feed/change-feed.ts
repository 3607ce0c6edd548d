// The change feed's engine behind GET <basePath>/<resource>/changes: resume positions checked
// against what the stream retains, one shared tail per resource, catch-up readers for subscribers
// that resume from behind it. NATS is connected on the first subscription, so a REST service whose
// callers never use the feed never needs NATS.
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsConfig } from '../../config/schema.js';
import { BridgeError, NatsUnavailableError } from '../../core/errors.js';
import type { Logger } from '../../core/source-adapter.js';
import { connectNats } from '../../nats/connection.js';
import { describeNatsError, isNoMessageFound } from '../../nats/jetstream-errors.js';
import { ensureStream } from '../../nats/provision.js';
import { resourceWildcard } from '../resource-event.js';
import { toFeedItem, type FeedItem } from './feed-item.js';
import { feedMetrics } from './feed-metrics.js';
import { FeedSubscription, type RangeReader } from './feed-subscription.js';
import { closeConsumer, ResourceTail } from './resource-tail.js';

/** Where a subscription starts: after a resume token, at what the stream retains, or at its end. */
export type FeedStart =
  { readonly kind: 'after'; readonly seq: number } | { readonly kind: 'start' } | { readonly kind: 'end' };

/** The resume position is older than what the stream retains (or the stream never reached it). */
export class FeedPositionGoneError extends BridgeError {
  override readonly code = 'FEED_POSITION_GONE';
}

export interface ChangeFeedOptions {
  readonly nats: NatsConfig;
  /** Events held per subscriber before it is closed as too slow. */
  readonly buffer: number;
  /** How long a shared consumer outlives its last subscriber (ms). */
  readonly idleTimeout: number;
  readonly log: Logger;
  /** A connection to use instead of connecting with `nats` (tests, bench). Not closed by close(). */
  readonly connection?: NatsConnection;
}

interface Link {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

export class ChangeFeed {
  #link: Promise<Link> | undefined;
  readonly #tails = new Map<string, Promise<ResourceTail>>();
  readonly #subs = new Set<FeedSubscription>();
  #closed = false;

  constructor(private readonly opts: ChangeFeedOptions) {}

  /** Subscribers currently open (all resources). */
  get subscriberCount(): number {
    return this.#subs.size;
  }

  /**
   * A subscription to `resource` from `start`; its queue holds every resource event after the
   * position, in stream order. Throws FeedPositionGoneError for a position the stream no longer
   * holds and NatsUnavailableError when NATS cannot be reached.
   */
  async subscribe(resource: string, start: FeedStart): Promise<FeedSubscription> {
    if (this.#closed) throw new NatsUnavailableError('the change feed is shut down');
    const link = await this.#connect();
    const { first_seq: first, last_seq: last } = await this.#streamState(link);
    let after: number;
    switch (start.kind) {
      case 'end':
        after = last;
        break;
      case 'start':
        after = Math.max(0, first - 1);
        break;
      case 'after':
        if (start.seq > last)
          throw new FeedPositionGoneError(
            `position ${start.seq} is beyond the stream's last event (${last}): the stream was recreated; start again`,
          );
        // Events between the token and the oldest retained one are gone: resuming would skip them.
        if (start.seq < first - 1)
          throw new FeedPositionGoneError(
            `position ${start.seq} is older than what the stream retains (oldest: ${first}); start again from=start`,
          );
        after = start.seq;
        break;
      default: {
        const never: never = start;
        throw new Error(`unknown start ${JSON.stringify(never)}`);
      }
    }
    const subject = resourceWildcard(this.opts.nats.subjectPrefix, resource);
    // A tail that closes between being found and being joined is replaced once.
    for (let attempt = 0; ; attempt++) {
      const tail = await this.#tail(link, resource, subject, last);
      if (tail.closed) {
        if (attempt === 0) continue;
        throw new NatsUnavailableError(`the consumer of ${resource} events keeps closing`);
      }
      const sub = new FeedSubscription(after, this.opts.buffer, (s) => {
        this.#subs.delete(s);
        tail.remove(s);
        feedMetrics.subscribers.dec({ resource });
        feedMetrics.closed.inc({ resource, reason: s.closeReason ?? 'unsubscribed' });
      });
      this.#subs.add(sub);
      feedMetrics.subscribers.inc({ resource });
      const joinedAt = tail.add(sub);
      // Read the gap up to what the stream held when the request came (the tail may lag behind
      // it), so that everything available then is in the queue once the catch-up is done.
      sub.catchUp(this.#rangeReader(link, subject), Math.max(joinedAt, last));
      return sub;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const s of [...this.#subs]) s.close('tail-closed');
    const tails = await Promise.allSettled([...this.#tails.values()]);
    await Promise.all(tails.flatMap((t) => (t.status === 'fulfilled' ? [t.value.close()] : [])));
    const link = this.#link ? await this.#link.catch(() => null) : null;
    if (link && !this.opts.connection) await link.nc.close();
  }

  #connect(): Promise<Link> {
    this.#link ??= (async () => {
      const nc = this.opts.connection ?? (await connectNats(this.opts.nats, this.opts.log, 'sluice-feed'));
      const jsm = await jetstreamManager(nc);
      await ensureStream(jsm, this.opts.nats, this.opts.log);
      return { nc, js: jetstream(nc), jsm };
    })().catch((err: unknown) => {
      this.#link = undefined;
      throw new NatsUnavailableError(`the change feed cannot reach NATS: ${describeNatsError(err)}`, {
        cause: err,
      });
    });
    return this.#link;
  }

  async #streamState(link: Link): Promise<{ first_seq: number; last_seq: number }> {
    try {
      return (await link.jsm.streams.info(this.opts.nats.stream)).state;
    } catch (err) {
      throw new NatsUnavailableError(
        `cannot read stream ${this.opts.nats.stream}: ${describeNatsError(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  #tail(link: Link, resource: string, subject: string, startAfter: number): Promise<ResourceTail> {
    let tail = this.#tails.get(resource);
    if (!tail) {
      tail = ResourceTail.start({
        js: link.js,
        stream: this.opts.nats.stream,
        resource,
        subject,
        startAfter,
        idleTimeout: this.opts.idleTimeout,
        log: this.opts.log,
        onClosed: () => {
          if (this.#tails.get(resource) === settled) this.#tails.delete(resource);
        },
      });
      const settled = tail;
      this.#tails.set(resource, tail);
      tail.catch(() => {
        if (this.#tails.get(resource) === settled) this.#tails.delete(resource);
      });
    }
    return tail.catch((err: unknown) => {
      throw new NatsUnavailableError(`cannot follow ${resource} events: ${describeNatsError(err)}`, {
        cause: err,
      });
    });
  }

  /**
   * Catch-up: a short-lived ordered consumer from the first event after `after`, read up to
   * `until` (the tail's position when the subscriber joined), then closed.
   */
  #rangeReader(link: Link, subject: string): RangeReader {
    const stream = this.opts.nats.stream;
    return async function* read(after, until, signal): AsyncIterable<FeedItem> {
      let first;
      try {
        // STREAM.MSG.GET takes next_by_subj since nats-server 2.9; the client's type lists it only
        // for direct gets (test/integration/change-feed.test.ts covers the resume over a gap).
        const query = { seq: after + 1, next_by_subj: subject } as unknown as MsgRequest;
        first = await link.jsm.streams.getMessage(stream, query);
      } catch (err) {
        if (isNoMessageFound(err)) return;
        throw err;
      }
      if (!first || first.seq > until) return;
      const consumer = await link.js.consumers.get(stream, {
        filter_subjects: subject,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: first.seq,
      });
      const messages = await consumer.consume({ max_messages: 256 });
      const stop = () => void messages.close();
      signal.addEventListener('abort', stop);
      try {
        for await (const m of messages) {
          if (m.seq > until) break;
          const item = toFeedItem(m);
          if (item) yield item;
          // Everything up to `until` was stored before this consumer existed: nothing pending
          // means it has all been read.
          if (m.seq === until || m.info.pending === 0) break;
        }
      } finally {
        signal.removeEventListener('abort', stop);
        await closeConsumer(consumer, messages);
      }
    };
  }
}
