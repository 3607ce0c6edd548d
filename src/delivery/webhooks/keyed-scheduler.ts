// Strict order per key, parallel across keys: each key's items run one after another in push order;
// at most `concurrency` keys run at once. A key that still has work after an item goes to the back
// of the line when other keys are waiting, so one busy key cannot starve the rest.

export type KeyedTask<T> = (key: string, item: T) => Promise<void>;

export class KeyedScheduler<T> {
  readonly #queues = new Map<string, T[]>();
  readonly #active = new Set<string>();
  /** Keys with items and no worker, in the order they became ready. */
  readonly #ready: string[] = [];
  #stopped = false;
  #running = 0;
  #idle: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly task: KeyedTask<T>,
    private readonly onError: (err: unknown, key: string) => void,
  ) {}

  /** Keys with a worker now (being sent or waiting for a retry). */
  get activeKeys(): number {
    return this.#active.size;
  }

  push(key: string, item: T): void {
    if (this.#stopped) return;
    const q = this.#queues.get(key);
    if (q) {
      q.push(item);
      return;
    }
    this.#queues.set(key, [item]);
    if (this.#active.size < this.concurrency) this.#start(key);
    else this.#ready.push(key);
  }

  /** No new work starts; resolves when the running items have returned. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queues.clear();
    this.#ready.length = 0;
    if (this.#running > 0) await new Promise<void>((r) => this.#idle.push(r));
  }

  #start(key: string): void {
    this.#active.add(key);
    this.#running++;
    void this.#work(key).finally(() => {
      this.#running--;
      if (this.#running === 0) for (const r of this.#idle.splice(0)) r();
    });
  }

  async #work(key: string): Promise<void> {
    for (;;) {
      const q = this.#queues.get(key);
      if (!q || q.length === 0 || this.#stopped) break;
      try {
        await this.task(key, q[0]!);
      } catch (err) {
        // The task owns its failures; an error here stops this key (its items stay unacknowledged).
        this.onError(err, key);
        this.#queues.delete(key);
        break;
      }
      q.shift();
      if (q.length > 0 && this.#ready.length > 0) {
        // Yield the slot: this key waits its turn again behind the keys already waiting.
        this.#ready.push(key);
        this.#active.delete(key);
        this.#start(this.#ready.shift()!);
        return;
      }
    }
    const q = this.#queues.get(key);
    if (q && q.length === 0) this.#queues.delete(key);
    this.#active.delete(key);
    if (!this.#stopped && this.#ready.length > 0 && this.#active.size < this.concurrency)
      this.#start(this.#ready.shift()!);
  }
}
