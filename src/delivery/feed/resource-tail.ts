// The live tail of one resource: ONE ordered JetStream consumer whose events are fanned out in
// process to every change-feed subscriber of the resource, however many there are. Listeners are
// called synchronously and must not block (a subscriber buffers, and closes itself when full).
//
//   starting ──consumer created──▶ live ──last listener gone──▶ idle ──timeout──▶ closed
//                                   ▲                             │
//                                   └──────listener added─────────┘
//   live/idle ──consumer fails──▶ closed (listeners are told; their clients resume)
import {
  DeliverPolicy,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
} from '@nats-io/jetstream';
import type { Logger } from '../../core/source-adapter.js';
import { toFeedItem, type FeedItem } from './feed-item.js';
import { feedMetrics } from './feed-metrics.js';
import { traceFeed } from './feed-trace.js';

export interface TailListener {
  /** Called in stream order for every event after the position the listener joined at. */
  onItem(item: FeedItem): void;
  /**
   * Called once the events that arrived together have all gone to onItem (once per turn of the
   * event loop that brought any): the moment to write them out in one piece.
   */
  onBatchEnd(): void;
  /** The tail stopped (consumer failure or shutdown): no more items will come. */
  onTailClosed(err?: unknown): void;
}

export class ResourceTail {
  #position: number;
  readonly #listeners = new Set<TailListener>();
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #batchEnd: NodeJS.Immediate | undefined;

  private constructor(
    readonly resource: string,
    private readonly consumer: Consumer,
    private readonly messages: ConsumerMessages,
    startAfter: number,
    private readonly idleTimeout: number,
    private readonly onClosed: (tail: ResourceTail) => void,
    private readonly log: Logger,
  ) {
    this.#position = startAfter;
  }

  /**
   * Starts the shared consumer on `subject` right after stream sequence `startAfter`. The ordered
   * consumer recreates itself after a reset from the last sequence it delivered, so the tail has
   * no gap across NATS reconnects.
   */
  static async start(opts: {
    js: JetStreamClient;
    stream: string;
    resource: string;
    subject: string;
    startAfter: number;
    idleTimeout: number;
    onClosed: (tail: ResourceTail) => void;
    log: Logger;
  }): Promise<ResourceTail> {
    const consumer = await opts.js.consumers.get(opts.stream, {
      filter_subjects: opts.subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: opts.startAfter + 1,
    });
    const messages = await consumer.consume({ max_messages: 1024 });
    const tail = new ResourceTail(
      opts.resource,
      consumer,
      messages,
      opts.startAfter,
      opts.idleTimeout,
      opts.onClosed,
      opts.log,
    );
    tail.#scheduleIdle();
    void tail.#run();
    return tail;
  }

  /**
   * Every event of the resource with a sequence up to this one has been handed to the listeners
   * that were present; every later one will be. A listener added now misses nothing after it.
   */
  get position(): number {
    return this.#position;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Adds a listener at the current position (synchronously: no event can slip in between). */
  add(listener: TailListener): number {
    if (this.#closed) throw new Error(`the tail of ${this.resource} is closed`);
    this.#listeners.add(listener);
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    return this.#position;
  }

  remove(listener: TailListener): void {
    this.#listeners.delete(listener);
    this.#scheduleIdle();
  }

  async close(err?: unknown): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    clearImmediate(this.#batchEnd);
    this.onClosed(this);
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const l of listeners) l.onTailClosed(err);
    await closeConsumer(this.consumer, this.messages);
  }

  #scheduleIdle(): void {
    if (this.#listeners.size > 0 || this.#closed || this.#idleTimer) return;
    this.#idleTimer = setTimeout(() => void this.close(), this.idleTimeout);
    this.#idleTimer.unref();
  }

  async #run(): Promise<void> {
    let failure: unknown;
    try {
      for await (const m of this.messages) {
        const item = toFeedItem(m);
        this.#position = m.seq;
        if (item === null) {
          this.log.warn(
            { resource: this.resource, seq: m.seq },
            'change feed: not a resource event, skipped',
          );
          continue;
        }
        feedMetrics.events.inc({ resource: this.resource });
        traceFeed('tail', [item]);
        for (const l of this.#listeners) l.onItem(item);
        // The messages of one read from the socket come in this same turn: their batch ends
        // after it, so each subscriber writes them with one socket write.
        this.#batchEnd ??= setImmediate(() => {
          this.#batchEnd = undefined;
          for (const l of this.#listeners) l.onBatchEnd();
        });
      }
    } catch (err) {
      failure = err;
      this.log.warn({ resource: this.resource, err }, 'change feed: the shared consumer failed');
    }
    await this.close(failure);
  }
}

/**
 * Stops reading and deletes the consumer on the server: an ordered consumer is otherwise left
 * there until its inactivity threshold (five minutes in nats.js), one per past subscriber.
 */
export async function closeConsumer(consumer: Consumer, messages: ConsumerMessages): Promise<void> {
  await messages.close().catch(() => {});
  await consumer.delete().catch(() => {});
}
