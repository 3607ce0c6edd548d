// What a diff pass compares with: each key's row hash from the previous pass, in a local SQLite
// file per source (bounded memory: a 1M-row table lives on disk, not in the heap).
//
// Writes of a chunk happen before its events are published, and are not undone: a row keeps the
// last value handed on for it, the event that carried it (`emitted`: op and position) and when
// (`changed_pass`, `changed_chunk`). On a (re)start from a committed offset, restore() marks every
// row whose event came after that offset as in doubt (it may or may not be in the stream), and the
// next read of such a row hands its current value on again (see README.md, "Restarts").
// Tombstones (hash NULL) mark keys reported deleted; they go once a later pass is acknowledged.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** The subset of better-sqlite3 used here (it ships no types; loaded lazily like every driver). */
interface Statement<P extends unknown[], R> {
  get(...params: P): R | undefined;
  all(...params: P): R[];
  run(...params: P): unknown;
}
interface Db {
  readonly open: boolean;
  pragma(sql: string): unknown;
  exec(sql: string): unknown;
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R>;
  transaction(fn: () => void): () => void;
  close(): void;
}
type DbFactory = new (file: string) => Db;

export interface StoredHash {
  readonly hash: string | null;
  readonly pass: number;
  /** The event that handed this value on came after the committed offset this run started from. */
  readonly doubt: boolean;
  /** That event's op and position (`<op> <position>`), null when none was handed on. */
  readonly emitted: string | null;
}

/** One row of a chunk: its key, its hash (null: reported deleted), and the event handed on for it, if any. */
export interface StoreWrite {
  readonly key: string;
  readonly hash: string | null;
  readonly emitted?: string | null;
}

/** A key not seen in a pass (a delete to report) and what the store knows of it. */
export interface UnseenKey extends StoredHash {
  readonly key: string;
}

interface PutParams {
  tbl: string;
  key: string;
  hash: string | null;
  pass: number;
  chunk: number;
  emitted: string | null;
}

interface RawRow {
  key: string;
  hash: string | null;
  pass: number;
  doubt: number;
  emitted: string | null;
}
const toStored = (r: RawRow): StoredHash => ({
  hash: r.hash,
  pass: r.pass,
  doubt: r.doubt !== 0,
  emitted: r.emitted,
});

export class StateStore {
  readonly #db: Db;
  readonly #get: Statement<[string, string], RawRow>;
  readonly #put: Statement<[PutParams], unknown>;

  static async open(file: string): Promise<StateStore> {
    // better-sqlite3 ships no types: load it by require with the structural subset above.
    const Database = createRequire(import.meta.url)('better-sqlite3') as DbFactory;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    return new StateStore(new Database(file));
  }

  private constructor(db: Db) {
    this.#db = db;
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS rows (
      tbl TEXT NOT NULL, key TEXT NOT NULL, hash TEXT, pass INTEGER NOT NULL, chunk INTEGER NOT NULL,
      changed_pass INTEGER, changed_chunk INTEGER, emitted TEXT, doubt INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (tbl, key)) WITHOUT ROWID`);
    // Columns added after the first release of the file: an older state file gains them (its rows
    // count as handed on before any committed offset, so nothing is in doubt).
    const have = new Set(
      (this.#db.prepare('PRAGMA table_info(rows)').all() as { name: string }[]).map((c) => c.name),
    );
    for (const [col, type] of [
      ['changed_pass', 'INTEGER'],
      ['changed_chunk', 'INTEGER'],
      ['emitted', 'TEXT'],
      ['doubt', 'INTEGER NOT NULL DEFAULT 0'],
    ] as const)
      if (!have.has(col)) this.#db.exec(`ALTER TABLE rows ADD COLUMN ${col} ${type}`);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`);
    this.#get = this.#db.prepare(
      'SELECT key, hash, pass, doubt, emitted FROM rows WHERE tbl = ? AND key = ?',
    );
    // A write with an event records it (and settles any doubt); a write without one (the row is
    // unchanged, or the pass is silent) only marks the row seen in this pass.
    this.#put = this.#db
      .prepare(`INSERT INTO rows (tbl, key, hash, pass, chunk, emitted, changed_pass, changed_chunk, doubt)
      VALUES (@tbl, @key, @hash, @pass, @chunk, @emitted,
        CASE WHEN @emitted IS NULL THEN NULL ELSE @pass END, CASE WHEN @emitted IS NULL THEN NULL ELSE @chunk END, 0)
      ON CONFLICT (tbl, key) DO UPDATE SET
        hash = excluded.hash, pass = excluded.pass, chunk = excluded.chunk, doubt = 0,
        emitted = COALESCE(excluded.emitted, rows.emitted),
        changed_pass = COALESCE(excluded.changed_pass, rows.changed_pass),
        changed_chunk = COALESCE(excluded.changed_chunk, rows.changed_chunk)`);
  }

  get(table: string, key: string): StoredHash | null {
    const r = this.#get.get(table, key);
    return r ? toStored(r) : null;
  }

  /** Applies one chunk's writes in one transaction (an unchanged row is written too: it was seen in this pass). */
  writeChunk(table: string, pass: number, chunk: number, rows: readonly StoreWrite[]): void {
    this.#db.transaction(() => {
      for (const r of rows)
        this.#put.run({ tbl: table, key: r.key, hash: r.hash, pass, chunk, emitted: r.emitted ?? null });
    })();
  }

  /**
   * Brings `table` back to a committed offset at chunk `chunk` of pass `pass`: every row whose
   * event came after it is in doubt, and every row seen after it counts as seen in that pass (a
   * delete it hides is reported one pass later, never lost).
   */
  restore(table: string, pass: number, chunk: number): void {
    this.#db.transaction(() => {
      this.#db
        .prepare(
          `UPDATE rows SET doubt = 1 WHERE tbl = ? AND (changed_pass > ? OR (changed_pass = ? AND changed_chunk > ?))`,
        )
        .run(table, pass, pass, chunk);
      this.#db
        .prepare(
          `UPDATE rows SET pass = ?, chunk = ? WHERE tbl = ? AND (pass > ? OR (pass = ? AND chunk > ?))`,
        )
        .run(pass, chunk, table, pass, pass, chunk);
    })();
  }

  /**
   * Keys not seen in `pass` (deleted since they were), in key-text order, after `after`: rows with
   * a hash, and tombstones in doubt (their delete may not be in the stream).
   */
  unseen(table: string, pass: number, after: string | null, limit: number): UnseenKey[] {
    return this.#db
      .prepare<[string, number, string, number], RawRow>(
        `SELECT key, hash, pass, doubt, emitted FROM rows WHERE tbl = ? AND pass < ?
           AND (hash IS NOT NULL OR doubt = 1) AND key > ? ORDER BY key LIMIT ?`,
      )
      .all(table, pass, after ?? '', limit)
      .map((r) => ({ key: r.key, ...toStored(r) }));
  }

  /** Whether the file holds nothing for `table` (then every lookup in a pass that starts now finds nothing). */
  isEmpty(table: string): boolean {
    return (
      this.#db.prepare<[string], unknown>('SELECT 1 FROM rows WHERE tbl = ? LIMIT 1').get(table) === undefined
    );
  }

  /** A number never handed out before by this file: tells one run's message ids from another's. */
  nextRun(): number {
    let n = 0;
    this.#db.transaction(() => {
      const row = this.#db.prepare<[], { v: number }>(`SELECT v FROM meta WHERE k = 'run'`).get();
      n = (row?.v ?? 0) + 1;
      this.#db.prepare(`INSERT OR REPLACE INTO meta (k, v) VALUES ('run', ?)`).run(n);
    })();
    return n;
  }

  /** Forgets tombstones of passes before `pass` (those deletes are published and committed). */
  prune(table: string, pass: number): void {
    this.#db
      .prepare('DELETE FROM rows WHERE tbl = ? AND hash IS NULL AND doubt = 0 AND pass < ?')
      .run(table, pass);
  }

  /** Starts a table over (a first pass that was not committed). */
  clear(table: string): void {
    this.#db.prepare('DELETE FROM rows WHERE tbl = ?').run(table);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
