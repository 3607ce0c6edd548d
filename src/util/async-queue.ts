// A bounded FIFO between a push-based producer (driver callbacks) and an async-iterating consumer.
// push() waits while the queue is full, so backpressure reaches the producer.

export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #head = 0;
  #error: unknown = null;
  #ended = false;
  #takers: (() => void)[] = [];
  #pushers: (() => void)[] = [];
  #drain: { level: number; fn: () => void } | null = null;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Resolves once the item is queued; waits while the queue is full. Dropped after end/fail. */
  async push(item: T): Promise<void> {
    while (this.size >= this.capacity && !this.#ended && this.#error === null) {
      await new Promise<void>((r) => this.#pushers.push(r));
    }
    if (this.#ended || this.#error !== null) return;
    this.#items.push(item);
    this.#wake(this.#takers);
  }

  /**
   * Queues at once, whatever the size: for producers that apply backpressure themselves (e.g.
   * by pausing a socket above a high-water mark, with onDrain to resume).
   */
  pushNow(item: T): void {
    if (this.#ended || this.#error !== null) return;
    this.#items.push(item);
    this.#wake(this.#takers);
  }

  /**
   * Takes up to `max` queued items at once, without waiting (none when empty): for a consumer that
   * batches what has piled up after an iterator read. Not to be called while a read is pending.
   */
  takeNow(max: number): T[] {
    const n = Math.min(max, this.size);
    if (n === 0) return [];
    const out = this.#items.slice(this.#head, this.#head + n);
    this.#items.splice(0, this.#head + n);
    this.#head = 0;
    this.#wake(this.#pushers);
    if (this.#drain && this.size <= this.#drain.level) this.#drain.fn();
    return out;
  }

  /** Calls `fn` whenever the consumer takes the queue down to `level` items. */
  onDrain(level: number, fn: () => void): void {
    this.#drain = { level, fn };
  }

  /** The consumer sees this error after the items queued before it. */
  fail(err: unknown): void {
    if (this.#error === null && !this.#ended) this.#error = err ?? new Error('queue failed');
    this.#wake(this.#takers);
    this.#wake(this.#pushers);
  }

  end(): void {
    this.#ended = true;
    this.#wake(this.#takers);
    this.#wake(this.#pushers);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.size > 0) {
        const item = this.#items[this.#head]!;
        this.#items[this.#head] = undefined as T;
        this.#head++;
        if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
          this.#items.splice(0, this.#head);
          this.#head = 0;
        }
        this.#wake(this.#pushers);
        if (this.#drain && this.size === this.#drain.level) this.#drain.fn();
        yield item;
        continue;
      }
      if (this.#error !== null)
        throw this.#error instanceof Error ? this.#error : new Error('queue failed', { cause: this.#error });
      if (this.#ended) return;
      await new Promise<void>((r) => this.#takers.push(r));
    }
  }

  #wake(list: (() => void)[]): void {
    if (list.length === 0) return;
    const ws = list.splice(0, list.length);
    for (const w of ws) w();
  }
}
