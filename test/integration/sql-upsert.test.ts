// The dialects' upsert (what sinks write with) against real PostgreSQL, MariaDB and SQLite.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dialectForUrl } from '../../src/sql/dialects.js';
import type { SqlDialect } from '../../src/sql/sql-dialect.js';
import { skipReason, startDb, type Db, type DbKind } from '../contract/contract-targets.js';

const kinds: DbKind[] = ['postgres', 'mariadb', 'sqlite'];

describe.each(kinds)('upsert on %s', (kind) => {
  const skip = skipReason(kind);
  let db: Db;
  let dialect: SqlDialect;
  let table: string;

  beforeAll(async () => {
    if (skip) return;
    db = await startDb(kind);
    dialect = await dialectForUrl(db.url);
    table = db.qualified('ordln');
    await db.knex.schema.createTable(table, (t) => {
      t.integer('id').notNullable();
      t.integer('line').notNullable();
      t.integer('qty');
      t.string('note', 40);
      t.primary(['id', 'line'], 'ordln_pk');
    });
  });
  afterAll(async () => {
    if (!skip) await db.stop();
  });

  const rowsOf = async () =>
    (await db.knex(table).select('id', 'line', 'qty', 'note').orderBy(['id', 'line'])).map((r) => ({
      ...r,
      id: Number(r.id),
      line: Number(r.line),
      qty: r.qty === null ? null : Number(r.qty),
    }));

  test.skipIf(skip)('inserts new keys, updates existing ones, in one statement per batch', async () => {
    await dialect.upsert(
      db.knex,
      table,
      [
        { id: 1, line: 1, qty: 5, note: 'first' },
        { id: 1, line: 2, qty: 6, note: null },
      ],
      ['id', 'line'],
    );
    await dialect.upsert(
      db.knex,
      table,
      [
        { id: 1, line: 2, qty: 60, note: 'changed ? mark' },
        { id: 2, line: 1, qty: 7, note: 'new' },
      ],
      ['id', 'line'],
    );
    expect(await rowsOf()).toEqual([
      { id: 1, line: 1, qty: 5, note: 'first' },
      { id: 1, line: 2, qty: 60, note: 'changed ? mark' },
      { id: 2, line: 1, qty: 7, note: 'new' },
    ]);
  });

  test.skipIf(skip)(
    'a row of key columns only inserts once and leaves an existing row as it is',
    async () => {
      await dialect.upsert(db.knex, table, [{ id: 3, line: 1 }], ['id', 'line']);
      await dialect.upsert(db.knex, table, [{ id: 3, line: 1 }], ['id', 'line']);
      await dialect.upsert(db.knex, table, [{ id: 1, line: 1 }], ['id', 'line']);
      const rows = await rowsOf();
      expect(rows.filter((r) => r.id === 3)).toEqual([{ id: 3, line: 1, qty: null, note: null }]);
      expect(rows.find((r) => r.id === 1 && r.line === 1)).toEqual({ id: 1, line: 1, qty: 5, note: 'first' });
    },
  );

  test.skipIf(skip)('runs inside a transaction and rolls back with it', async () => {
    await expect(
      db.knex.transaction(async (trx) => {
        await dialect.upsert(trx, table, [{ id: 9, line: 9, qty: 1, note: 'x' }], ['id', 'line']);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await rowsOf()).some((r) => r.id === 9)).toBe(false);
  });
});
