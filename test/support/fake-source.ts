// A source adapter with no database behind it, for tests of the pipeline's lease, fencing and
// resume logic: the test pushes changes, and sees what was snapshotted and acknowledged.
import type { SourceChange } from '../../src/core/change-event.js';
import {
  defaultCapabilities,
  type ChangeBatch,
  type PreflightReport,
  type SourceAdapter,
  type SourceContext,
  type SourceStatus,
} from '../../src/core/source-adapter.js';

export class FakeSource implements SourceAdapter<number> {
  readonly kind = 'fake';
  readonly capabilities = defaultCapabilities;
  readonly offsets = {
    serialize: (o: number) => String(o),
    parse: (t: string) => Number(t),
    compare: (a: number, b: number) => a - b,
    describe: (o: number) => `#${o}`,
  };
  /** Offsets passed to acknowledge(), in order. */
  readonly acked: number[] = [];
  /** ctx.lastPublished of every snapshot() call. */
  readonly snapshotSeen: SourceContext['lastPublished'][] = [];
  /** `from` of every stream() call. */
  readonly streamFrom: (number | null)[] = [];
  #queue: number[] = [];
  #wake: (() => void) | null = null;
  #next = 1;

  constructor(
    readonly name: string,
    private readonly opts: { snapshot?: boolean } = {},
  ) {}

  /** Queues `n` changes, each its own batch with the next offset. */
  push(n = 1): void {
    for (let i = 0; i < n; i++) this.#queue.push(this.#next++);
    this.#wake?.();
  }

  preflight(): Promise<PreflightReport> {
    return Promise.resolve({ ok: true, problems: [], warnings: [], facts: {} });
  }

  needsSnapshot(offset: number | null): boolean {
    return this.opts.snapshot === true && offset === null;
  }

  async *snapshot(ctx: SourceContext): AsyncIterable<ChangeBatch<number>> {
    this.snapshotSeen.push(ctx.lastPublished ?? null);
    yield { changes: [change(this.name, 0, 'r', 'snap')], offset: 0, sync: true };
  }

  async *stream(ctx: SourceContext, from: number | null): AsyncIterable<ChangeBatch<number>> {
    this.streamFrom.push(from);
    while (!ctx.signal.aborted) {
      const n = this.#queue.shift();
      if (n === undefined) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        continue;
      }
      yield { changes: [change(this.name, n, 'c', String(n))], offset: n };
    }
  }

  acknowledge(offset: number): Promise<void> {
    this.acked.push(offset);
    return Promise.resolve();
  }

  status(): Promise<SourceStatus> {
    return Promise.resolve({ facts: {} });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function change(source: string, id: number, op: 'r' | 'c', position: string): SourceChange {
  const now = Date.now();
  return {
    event: {
      before: null,
      after: { id },
      source: {
        version: 'test',
        connector: 'polling',
        name: source,
        ts_ms: now,
        snapshot: op === 'r' ? 'true' : 'false',
        db: 'd',
        schema: 's',
        table: 't',
      },
      op,
      ts_ms: now,
    },
    key: { id },
    position,
    index: 0,
  };
}
