// Committed offsets in a NATS KV bucket, advanced only by compare-and-set on the entry's revision,
// so two instances can never both move one source forward.
import type { KV } from '@nats-io/kv';
import { NatsUnavailableError, OffsetConflictError } from '../core/errors.js';
import type { StoredOffset } from '../core/offset.js';
import type { OffsetStore } from '../core/offset-store.js';
import { describeNatsError, isWrongLastSequence } from './jetstream-errors.js';
import { kvKey } from './subjects.js';

export class KvOffsetStore implements OffsetStore {
  readonly #kv: KV;
  readonly #revisions = new Map<string, number>();

  constructor(kv: KV) {
    this.#kv = kv;
  }

  static key(source: string): string {
    return kvKey('offset', source);
  }

  /** Loads the committed offset and remembers its revision for the next commit. */
  async load(source: string): Promise<StoredOffset | null> {
    let e;
    try {
      e = await this.#kv.get(KvOffsetStore.key(source));
    } catch (err) {
      // A timeout or a leader election: the source retries from here, it does not fail.
      throw new NatsUnavailableError(`reading the offset of ${source} failed: ${describeNatsError(err)}`, {
        cause: err,
      });
    }
    if (!e || e.operation !== 'PUT' || e.value.length === 0) {
      this.#revisions.set(source, 0);
      return null;
    }
    this.#revisions.set(source, e.revision);
    const body = e.json<{ offset: string; updatedAt: string }>();
    return { offset: body.offset, updatedAt: body.updatedAt, revision: e.revision };
  }

  /** Writes `offset` if nobody else wrote since our load/commit; throws OffsetConflictError otherwise. */
  async commit(source: string, offset: string): Promise<number> {
    const key = KvOffsetStore.key(source);
    const expected = this.#revisions.get(source);
    if (expected === undefined)
      throw new OffsetConflictError(`offset of ${source} committed before it was loaded`);
    const value = JSON.stringify({ offset, updatedAt: new Date().toISOString() });
    try {
      const rev =
        expected === 0 ? await this.#kv.create(key, value) : await this.#kv.update(key, value, expected);
      this.#revisions.set(source, rev);
      return rev;
    } catch (err) {
      // A write whose reply was lost (a timeout, a reconnect, or a process resumed after SIGSTOP,
      // whose timers fire before its socket is read) may have landed: read the entry back.
      const now = await this.#kv.get(key).catch(() => null);
      if (now && now.operation === 'PUT' && now.string() === value) {
        this.#revisions.set(source, now.revision);
        return now.revision;
      }
      if (isWrongLastSequence(err))
        throw new OffsetConflictError(
          `the offset of source ${source} was changed by another process (expected revision ${expected})`,
          { cause: err },
        );
      throw new NatsUnavailableError(`committing the offset of ${source} failed: ${describeNatsError(err)}`, {
        cause: err,
      });
    }
  }
}
