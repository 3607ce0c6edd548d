// What a diff pass compares with: each key's row hash from the previous pass, in a local SQLite
// file per source (bounded memory: a 1M-row table lives on disk, not in the heap).
//
// Writes of a chunk happen before its events are published, so each write remembers the value it
// replaced (prev_hash, prev_pass): on a (re)start from a committed offset, revert() puts back
// every write of chunks after the committed one, and the same chunks are read again.
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
}

export class StateStore {
  readonly #db: Db;
  readonly #get: Statement<[string, string], { hash: string | null; pass: number }>;
  readonly #put: Statement<[string, string, string | null, number, number], unknown>;

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
      prev_hash TEXT, prev_pass INTEGER, PRIMARY KEY (tbl, key)) WITHOUT ROWID`);
    this.#get = this.#db.prepare('SELECT hash, pass FROM rows WHERE tbl = ? AND key = ?');
    // Keeps what it replaces unless this pass already wrote the row (a re-read after revert cannot
    // reach that case; a key seen twice in one pass keeps its first previous value).
    this.#put = this.#db.prepare(`INSERT INTO rows (tbl, key, hash, pass, chunk) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (tbl, key) DO UPDATE SET
        prev_hash = CASE WHEN rows.pass = excluded.pass THEN rows.prev_hash ELSE rows.hash END,
        prev_pass = CASE WHEN rows.pass = excluded.pass THEN rows.prev_pass ELSE rows.pass END,
        hash = excluded.hash, pass = excluded.pass, chunk = excluded.chunk`);
  }

  get(table: string, key: string): StoredHash | null {
    return this.#get.get(table, key) ?? null;
  }

  /** Applies one chunk's writes in one transaction (an unchanged row is written too: it was seen in this pass). */
  writeChunk(
    table: string,
    pass: number,
    chunk: number,
    rows: readonly { key: string; hash: string | null }[],
  ): void {
    this.#db.transaction(() => {
      for (const r of rows) this.#put.run(table, r.key, r.hash, pass, chunk);
    })();
  }

  /** Undoes every write of `table` made after chunk `chunk` of pass `pass` (or in any later pass). */
  revert(table: string, pass: number, chunk: number): void {
    this.#db.transaction(() => {
      const later = '(pass > ? OR (pass = ? AND chunk > ?))';
      this.#db
        .prepare(`DELETE FROM rows WHERE tbl = ? AND ${later} AND prev_pass IS NULL`)
        .run(table, pass, pass, chunk);
      this.#db
        .prepare(
          `UPDATE rows SET hash = prev_hash, pass = prev_pass, chunk = 0, prev_hash = NULL, prev_pass = NULL WHERE tbl = ? AND ${later}`,
        )
        .run(table, pass, pass, chunk);
    })();
  }

  /** Keys with a hash not seen in `pass` (deleted since the previous pass), in key-text order, after `after`. */
  unseen(table: string, pass: number, after: string | null, limit: number): string[] {
    return this.#db
      .prepare<[string, number, string, number], { key: string }>(
        'SELECT key FROM rows WHERE tbl = ? AND pass < ? AND hash IS NOT NULL AND key > ? ORDER BY key LIMIT ?',
      )
      .all(table, pass, after ?? '', limit)
      .map((r) => r.key);
  }

  /** Forgets tombstones of passes before `pass` (those deletes are published and committed). */
  prune(table: string, pass: number): void {
    this.#db.prepare('DELETE FROM rows WHERE tbl = ? AND hash IS NULL AND pass < ?').run(table, pass);
  }

  /** Starts a table over (a first pass that was not committed). */
  clear(table: string): void {
    this.#db.prepare('DELETE FROM rows WHERE tbl = ?').run(table);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
