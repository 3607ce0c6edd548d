// One change-feed subscriber: a bounded queue of events after its resume position. It joins the
// resource's shared tail at once; when it resumes from behind the tail, it first reads the gap with
// a short-lived catch-up reader while the tail's events wait in a bounded backlog, then drains the
// backlog (skipping what the catch-up already gave) and goes live. No gap, no duplicate: the tail
// hands over every event after the position it was joined at, and the catch-up reads up to it.
//
//   catching-up ──gap read, backlog drained──▶ live
//        │                                      │
//        └──buffer full / tail closed / close()─┴──▶ closed (queue ends after what it holds)
import { AsyncQueue } from '../../util/async-queue.js';
import type { FeedItem } from './feed-item.js';
import type { TailListener } from './resource-tail.js';

export type CloseReason = 'overflow' | 'tail-closed' | 'unsubscribed' | 'catch-up-failed';

/** Reads the events after `after` up to and including `until`, in order. */
export type RangeReader = (after: number, until: number, signal: AbortSignal) => AsyncIterable<FeedItem>;

export class FeedSubscription implements TailListener {
  readonly queue: AsyncQueue<FeedItem>;
  #state: 'catching-up' | 'live' | 'closed' = 'live';
  #backlog: FeedItem[] = [];
  /** Sequence of the last event queued (or the resume position). */
  #pos: number;
  readonly #abort = new AbortController();
  #reason: CloseReason | undefined;
  readonly #onClose: (sub: FeedSubscription) => void;
  #onReady: (() => void) | undefined;
  #caughtUp!: () => void;
  /** Resolves once the subscription is live (or closed): the gap has been queued. */
  readonly caughtUp = new Promise<void>((resolve) => {
    this.#caughtUp = resolve;
  });

  constructor(
    /** The resume position: the subscription holds the events after it. */
    readonly after: number,
    private readonly capacity: number,
    onClose: (sub: FeedSubscription) => void,
  ) {
    this.#pos = after;
    this.queue = new AsyncQueue(capacity);
    this.#onClose = onClose;
  }

  /** Why the subscription ended; undefined while it runs. */
  get closeReason(): CloseReason | undefined {
    return this.#reason;
  }

  get state(): 'catching-up' | 'live' | 'closed' {
    return this.#state;
  }

  /**
   * `fn` is called when queued events are ready to be taken with `queue.takeNow` (after each
   * batch of the tail, after each event of the catch-up) and when the subscription closes: for a
   * writer that takes everything at once rather than iterating the queue.
   */
  onReady(fn: () => void): void {
    this.#onReady = fn;
  }

  /** Starts reading the gap between the resume position and `until` (the tail's position when joined). */
  catchUp(read: RangeReader, until: number): void {
    if (this.#pos >= until || this.#state !== 'live') {
      this.#caughtUp();
      return;
    }
    this.#state = 'catching-up';
    void this.#catchUp(read, until);
  }

  async #catchUp(read: RangeReader, until: number): Promise<void> {
    try {
      for await (const item of read(this.#pos, until, this.#abort.signal)) {
        if (this.#state === 'closed') return;
        if (item.seq <= this.#pos) continue;
        await this.queue.push(item);
        this.#pos = item.seq;
        this.#onReady?.();
      }
      while (this.#backlog.length > 0) {
        if (this.#state === 'closed') return;
        const item = this.#backlog.shift()!;
        if (item.seq <= this.#pos) continue;
        await this.queue.push(item);
        this.#pos = item.seq;
        this.#onReady?.();
      }
      // The backlog is empty and this runs synchronously up to here: the tail's next event goes
      // straight to the queue.
      if (this.#state === 'catching-up') this.#state = 'live';
      this.#caughtUp();
    } catch {
      this.close('catch-up-failed');
    }
  }

  onItem(item: FeedItem): void {
    switch (this.#state) {
      case 'closed':
        return;
      case 'catching-up':
        if (this.#backlog.length >= this.capacity) this.close('overflow');
        else this.#backlog.push(item);
        return;
      case 'live':
        if (item.seq <= this.#pos) return;
        if (this.queue.size >= this.capacity) {
          this.close('overflow');
          return;
        }
        this.#pos = item.seq;
        this.queue.pushNow(item);
        return;
      default: {
        const never: never = this.#state;
        return never;
      }
    }
  }

  onBatchEnd(): void {
    if (this.#state === 'live' && this.queue.size > 0) this.#onReady?.();
  }

  onTailClosed(): void {
    this.close('tail-closed');
  }

  /** Ends the subscription: what is queued can still be read, nothing more is added. Idempotent. */
  close(reason: CloseReason = 'unsubscribed'): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#reason = reason;
    this.#backlog = [];
    this.#abort.abort();
    this.queue.end();
    this.#caughtUp();
    this.#onClose(this);
    this.#onReady?.();
  }
}
