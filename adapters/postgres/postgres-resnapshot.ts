// Online re-snapshot while streaming (DBLog watermarks, README "Re-snapshot"): a table is read
// again in key-ordered chunks, each bracketed by two non-transactional logical messages written
// into the WAL the stream reads (LOW, then the chunk's SELECT, then HIGH). A change the stream
// delivers between LOW and HIGH supersedes the chunk's row for its key(s), which is dropped from
// the chunk; at HIGH the rest is emitted as `r` events. The progress rides in the offset, so a
// crash resumes at the last chunk whose rows were committed; watermarks of a crashed run carry
// another nonce and are ignored.
//
// The request is a transactional logical message (`sluice snapshot`, or any SQL session:
// SELECT pg_logical_emit_message(true, 'sluice-resnapshot', '{"tables":["public.t"]}')), so it
// reaches the stream in commit order and needs no shell or NATS access.
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { SourceChange } from '../../src/core/change-event.js';
import type { Logger } from '../../src/core/source-adapter.js';
import type { TableInfo } from './postgres-catalog.js';
import type { PgSession } from './postgres-session.js';
import { readTable } from './postgres-snapshot.js';

export const RESNAPSHOT_PREFIX = 'sluice-resnapshot';
export const WATERMARK_PREFIX = 'sluice-watermark';

/** Where a re-snapshot stands (kept in the offset). */
export interface ResnapProgress {
  /** The request's id: part of every event id of this re-snapshot. */
  readonly id: string;
  /** Tables still to read, the current one first. */
  readonly tables: string[];
  /** The last key read in the current table (text forms), null at its start. */
  readonly after: unknown[] | null;
  readonly rows: number;
}

/** Parses a request message's content: `{"id"?, "tables"?}`; every captured keyed table when none are named. */
export function parseRequest(
  content: Uint8Array,
  captured: ReadonlyMap<string, TableInfo>,
  fallbackId: string,
): ResnapProgress {
  let body: { id?: unknown; tables?: unknown } = {};
  try {
    body = JSON.parse(new TextDecoder().decode(content) || '{}') as typeof body;
  } catch {
    body = {};
  }
  const named = Array.isArray(body.tables) ? body.tables.map(String) : [...captured.keys()];
  const tables = named.filter((t) => captured.get(t)?.key.length);
  const id = typeof body.id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(body.id) ? body.id : fallbackId;
  return { id, tables, after: null, rows: 0 };
}

interface Window {
  readonly nonce: string;
  readonly table: TableInfo;
  readonly rows: Map<string, Record<string, unknown>>;
  readonly lastKey: readonly unknown[] | null;
  /** Whether the chunk ended the table (a short page). */
  readonly last: boolean;
  open: boolean;
}

export class Resnapshot {
  #progress: ResnapProgress;
  #window: Window | null = null;

  constructor(
    private readonly s: PgSession,
    private readonly admin: pg.Client,
    progress: ResnapProgress,
    private readonly log: Logger,
  ) {
    this.#progress = progress;
  }

  get progress(): ResnapProgress {
    return this.#progress;
  }

  get done(): boolean {
    return this.#progress.tables.length === 0;
  }

  /**
   * Writes LOW, reads the next chunk, writes HIGH. The rows wait for the stream to reach HIGH.
   * Returns false when there is nothing left to read.
   */
  async startChunk(): Promise<boolean> {
    for (;;) {
      const name = this.#progress.tables[0];
      if (name === undefined) return false;
      const table = this.s.tables.get(name);
      if (!table || table.key.length === 0) {
        this.log.warn({ table: name }, 're-snapshot skips a table that is not captured or has no key');
        this.#progress = { ...this.#progress, tables: this.#progress.tables.slice(1), after: null };
        continue;
      }
      const nonce = randomUUID();
      await this.#mark(nonce, 'low');
      const pages = readTable(this.s, this.admin, table, this.#progress.after);
      const page = await pages.next();
      await pages.return(undefined);
      await this.#mark(nonce, 'high');
      const rows = new Map<string, Record<string, unknown>>();
      const got = page.done ? [] : page.value.rows;
      for (const row of got) rows.set(this.#keyText(table, row), row);
      this.#window = {
        nonce,
        table,
        rows,
        lastKey: page.done ? null : page.value.lastKey,
        last: got.length < this.s.cfg.snapshotChunkSize,
        open: false,
      };
      return true;
    }
  }

  async #mark(nonce: string, which: 'low' | 'high'): Promise<void> {
    await this.admin.query('SELECT pg_logical_emit_message(false, $1, $2)', [
      WATERMARK_PREFIX,
      `${nonce}:${which}`,
    ]);
  }

  #keyText(table: TableInfo, row: Readonly<Record<string, unknown>>): string {
    return JSON.stringify(table.key.map((k) => row[k] ?? null));
  }

  /** A watermark seen in the stream: 'high' when it closes the current window. */
  onWatermark(content: Uint8Array): 'low' | 'high' | null {
    const w = this.#window;
    if (!w) return null;
    const text = new TextDecoder().decode(content);
    if (text === `${w.nonce}:low`) {
      w.open = true;
      return 'low';
    }
    if (text === `${w.nonce}:high` && w.open) return 'high';
    return null;
  }

  /** A streamed change inside the window supersedes the chunk's row for each key it touches. */
  observe(c: SourceChange): void {
    const w = this.#window;
    if (!w?.open) return;
    const src = c.event.source;
    if (`${src.schema}.${src.table}` !== w.table.qualified) return;
    if (c.event.op === 't') {
      w.rows.clear();
      return;
    }
    for (const image of [c.event.before, c.event.after])
      if (image && w.table.key.every((k) => image[k] !== undefined))
        w.rows.delete(this.#keyText(w.table, image));
    w.rows.delete(this.#keyText(w.table, c.key));
  }

  /** At HIGH: the chunk's remaining rows as `r` events, and the progress after them. */
  finishChunk(tsMs: number): SourceChange[] {
    const w = this.#window!;
    this.#window = null;
    const t = w.table;
    const p = this.#progress;
    const changes = [...w.rows.values()].map((row) =>
      this.s.change({
        op: 'r',
        schema: t.schema,
        table: t.name,
        before: null,
        after: row,
        key: this.s.keyOf(t, row, []),
        tsMs,
        snapshot: 'true',
        // Keyed by the row's key: a chunk read again after a crash gives a row the same id.
        position: `resnap@${p.id}:${t.qualified}#${createHash('sha1').update(this.#keyText(t, row)).digest('hex').slice(0, 20)}`,
        index: 0,
      }),
    );
    const rows = p.rows + changes.length;
    this.#progress =
      w.last || w.lastKey === null
        ? { ...p, tables: p.tables.slice(1), after: null, rows }
        : { ...p, after: [...w.lastKey], rows };
    return changes;
  }
}
