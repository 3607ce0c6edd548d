// Reads and writes one mapped legacy table through knex: keyset lists, get/insert/update/delete by
// key, counts, and "rows whose column is in (...)" for embeds. Works on column names and DB values;
// the HTTP layer turns API names and values into these.
import type { Knex } from 'knex';
import type { DbValue } from '../core/codecs.js';
import type { MappedField, ResourceMapping } from '../core/mapping.js';
import { BridgeError, SourceUnavailableError } from '../core/errors.js';
import type { ApiDatabase } from '../sql/database.js';
import type { DbErrorKind } from '../sql/sql-dialect.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Filter } from './filter-grammar.js';
import {
  applyBound,
  applyFilter,
  applyKeyset,
  applyOrder,
  bindFilter,
  type FieldLookup,
  type OrderTerm,
  type SlotValue,
} from './query-filters.js';
import { StatementCache, type StatementBuilder } from './statement-cache.js';

export type DbRow = Record<string, unknown>;
export type DbKey = Record<string, DbValue>;
export type Executor = Knex | Knex.Transaction;

/** A write the database refused because of the client's data (constraint, bad value). */
export class DataRejectedError extends BridgeError {
  override readonly code = 'DATA_REJECTED';
  constructor(
    readonly kind: DbErrorKind,
    cause: unknown,
  ) {
    super(`the database rejected the data (${kind})`, { cause });
  }
}

export interface ListRequest {
  readonly filters: readonly Filter[];
  readonly lookup: FieldLookup;
  /** Ordering asked for; key fields are appended as tie-breakers. */
  readonly order: readonly OrderTerm[];
  readonly limit: number;
  readonly cursor?: string | undefined;
  /** Fields to read (key and ordering columns are always added). */
  readonly fields: readonly MappedField[];
}

export interface ListResult {
  readonly rows: DbRow[];
  readonly next: string | null;
}

export class ResourceStore {
  readonly table: string;
  /** Compiled reads of this table (lists and gets outside transactions). */
  readonly statements: StatementCache;
  private readonly columns: readonly string[];
  private plainSelection:
    { terms: OrderTerm[]; text: string; columns: string[]; columnsJson: string } | undefined;

  constructor(
    readonly db: ApiDatabase,
    readonly mapping: ResourceMapping,
  ) {
    this.table = mapping.schema ? `${mapping.schema}.${mapping.tableName}` : mapping.tableName;
    this.statements = new StatementCache(db.knex, db.dialect);
    this.columns = [...mapping.fields.values()].map((f) => f.column);
  }

  private from(ex: Executor): Knex.QueryBuilder {
    return ex(this.table);
  }

  /** Ordering and columns of a list; those of the plain default (all fields, key order) are kept. */
  private selection(req: ListRequest): {
    terms: OrderTerm[];
    text: string;
    columns: string[];
    columnsJson: string;
  } {
    const plain = req.order.length === 0 && req.fields === this.mapping.allFields;
    if (plain && this.plainSelection) return this.plainSelection;
    const { terms, text } = this.ordering(req.order);
    const columns = [...new Set([...req.fields, ...terms.map((t) => t.field)].map((f) => f.column))];
    const selection = { terms, text, columns, columnsJson: JSON.stringify(columns) };
    if (plain) this.plainSelection = selection;
    return selection;
  }

  /** The full ordering (with key tie-breakers) and its text form, which cursors are bound to. */
  ordering(order: readonly OrderTerm[]): { terms: OrderTerm[]; text: string } {
    const terms = [...order];
    for (const k of this.mapping.key)
      if (!terms.some((t) => t.field === k)) terms.push({ field: k, desc: false });
    return { terms, text: terms.map((t) => `${t.field.name}.${t.desc ? 'desc' : 'asc'}`).join(',') };
  }

  private filtered(ex: Executor, filters: readonly Filter[], lookup: FieldLookup): Knex.QueryBuilder {
    const qb = this.from(ex);
    for (const f of filters) applyFilter(qb, f, lookup, this.db.dialect);
    return qb;
  }

  /**
   * The SELECT of one page (one row more than the limit, to know whether a next page exists):
   * its shape (what the SQL text depends on), its parameters, and a builder over them.
   */
  private listStatement(req: ListRequest): {
    shape: string;
    params: Knex.Value[];
    build: StatementBuilder;
    terms: OrderTerm[];
    text: string;
  } {
    const { terms, text, columns, columnsJson } = this.selection(req);
    const params: Knex.Value[] = [];
    const bound = req.filters.map((f) => bindFilter(f, req.lookup, params));
    // NULLs in the cursor change the SQL (IS NULL branches); the other values are parameters.
    const cursor = req.cursor === undefined ? undefined : decodeCursor(req.cursor, text, terms.length);
    const cursorSlots = cursor?.map((v) => (v === null ? null : params.push(v) - 1));
    const shape = `list ${req.limit} ${JSON.stringify(text)} ${columnsJson} ${JSON.stringify(cursorSlots ?? null)} ${JSON.stringify(bound)}`;
    const build = (value: SlotValue) => {
      const qb = this.from(this.db.knex);
      for (const b of bound) applyBound(qb, b, this.db.dialect, value);
      if (cursorSlots)
        applyKeyset(
          qb,
          terms,
          cursorSlots.map((s) => (s === null ? null : value(s))),
        );
      applyOrder(qb, terms, this.db.dialect);
      return qb.select(columns).limit(req.limit + 1);
    };
    return { shape, params, build, terms, text };
  }

  /** The SELECT of one page, as a knex query. */
  listQuery(req: ListRequest): { qb: Knex.QueryBuilder; terms: OrderTerm[]; text: string } {
    const { params, build, terms, text } = this.listStatement(req);
    return { qb: build((slot) => params[slot]!), terms, text };
  }

  async list(req: ListRequest): Promise<ListResult> {
    const { shape, params, build, terms, text } = this.listStatement(req);
    const rows = await this.guard(() => this.statements.rows(shape, params, build));
    if (rows.length <= req.limit) return { rows, next: null };
    rows.length = req.limit;
    const last = rows[rows.length - 1]!;
    return {
      rows,
      next: encodeCursor(
        text,
        terms.map((t) => last[t.field.column]),
      ),
    };
  }

  async count(filters: readonly Filter[], lookup: FieldLookup, mode: 'exact' | 'estimated'): Promise<number> {
    if (mode === 'estimated' && filters.length === 0)
      return this.db.dialect.estimateCount(this.db.knex, this.mapping.schema, this.mapping.tableName);
    const qb = this.filtered(this.db.knex, filters, lookup).count({ n: '*' }).first();
    const row = await this.guard(async () => (await qb) as { n: number | string } | undefined);
    return Number(row?.n ?? 0);
  }

  /** One row by key, also matching `filters` (row-level access), or undefined. */
  async get(
    ex: Executor,
    key: DbKey,
    filters: readonly Filter[],
    lookup: FieldLookup,
    forUpdate = false,
  ): Promise<DbRow | undefined> {
    if (ex === this.db.knex && !forUpdate) {
      const params: Knex.Value[] = [];
      const bound = filters.map((f) => bindFilter(f, lookup, params));
      const keySlots = Object.entries(key).map(([column, v]) => [column, params.push(v) - 1] as const);
      const shape = JSON.stringify(['get', bound, keySlots]);
      const rows = await this.guard(() =>
        this.statements.rows(shape, params, (value) => {
          const qb = this.from(this.db.knex);
          for (const b of bound) applyBound(qb, b, this.db.dialect, value);
          for (const [column, slot] of keySlots) qb.where(column, value(slot));
          return qb.select(this.allColumns()).limit(1);
        }),
      );
      return rows[0];
    }
    const qb = this.filtered(ex, filters, lookup).where(key).select(this.allColumns()).first();
    if (forUpdate && this.db.dialect.rowLocks && ex !== this.db.knex) qb.forUpdate();
    return this.guard(async () => (await qb) as DbRow | undefined);
  }

  /** Inserts a row and returns its key (from the values, RETURNING, or the driver's insert id). */
  async insert(ex: Executor, values: DbKey): Promise<DbKey> {
    const keyCols = this.mapping.key.map((k) => k.column);
    const fromValues = keyCols.every((c) => values[c] !== undefined && values[c] !== null);
    const result = await this.guard(async () => {
      if (fromValues) return this.from(ex).insert(values);
      if (this.db.dialect.supportsReturning) return this.from(ex).insert(values).returning(keyCols);
      return this.from(ex).insert(values);
    });
    if (fromValues) return Object.fromEntries(keyCols.map((c) => [c, values[c]!]));
    const first = (result as unknown[])[0];
    if (typeof first === 'object' && first !== null) return first as DbKey;
    if (keyCols.length === 1) return { [keyCols[0]!]: first as DbValue };
    throw new BridgeError(
      `resource ${this.mapping.name}: cannot tell the key of the inserted row; send every key field`,
    );
  }

  async update(ex: Executor, key: DbKey, values: DbKey): Promise<number> {
    if (Object.keys(values).length === 0) return 1;
    return this.guard(() => this.from(ex).where(key).update(values));
  }

  async delete(ex: Executor, key: DbKey): Promise<number> {
    return this.guard(() => this.from(ex).where(key).delete());
  }

  /**
   * The SELECTs of the rows whose `columns` equal one of `tuples` (embeds of a whole page): at
   * most `perTuple` + 1 rows per tuple (the extra one tells that more exist), each tuple's rows in
   * key order (the order of a plain list, so its cursor can resume after them). Keys are split into
   * chunks of the dialect's `inListChunk` bound values, one statement each.
   */
  relatedQueries(
    columns: readonly string[],
    tuples: readonly DbValue[][],
    filters: readonly Filter[],
    lookup: FieldLookup,
    select: readonly string[],
    perTuple: number,
  ): Knex.QueryBuilder[] {
    const cols = [...new Set([...select, ...columns, ...this.mapping.key.map((k) => k.column)])];
    const per = Math.max(1, Math.floor(this.db.dialect.inListChunk / columns.length));
    // ORDER BY of the key, as applyOrder writes it for a list (NULL placement included).
    const order: string[] = [];
    const orderBindings: string[] = [];
    for (const k of this.mapping.key) {
      if (k.columnNullable && !this.db.dialect.nullsSortHigh) {
        order.push('CASE WHEN ?? IS NULL THEN 1 ELSE 0 END ASC');
        orderBindings.push(k.column);
      }
      order.push('?? ASC');
      orderBindings.push(k.column);
    }
    const partition = columns.map(() => '??').join(', ');
    const queries: Knex.QueryBuilder[] = [];
    for (let i = 0; i < tuples.length; i += per) {
      const chunk = tuples.slice(i, i + per);
      const inner = this.filtered(this.db.knex, filters, lookup);
      if (columns.length === 1)
        inner.whereIn(
          columns[0]!,
          chunk.map((t) => t[0]!),
        );
      else
        inner.where((outer) => {
          for (const t of chunk)
            outer.orWhere((b) => {
              for (let c = 0; c < columns.length; c++) b.where(columns[c]!, t[c]!);
            });
        });
      inner.select([
        ...cols,
        this.db.knex.raw(`ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY ${order.join(', ')}) AS ??`, [
          ...columns,
          ...orderBindings,
          'sluice_rn',
        ]),
      ]);
      queries.push(
        // No ORDER BY: `related` puts each tuple's rows in sluice_rn order (a number, so no
        // collation question), which spares the database a second sort.
        this.db.knex
          .select([...cols, 'sluice_rn'])
          .from(inner.as('sluice_embed'))
          .where('sluice_rn', '<=', perTuple + 1),
      );
    }
    return queries;
  }

  /**
   * Runs `relatedQueries` one chunk after the other. Rows come back in `sluice_rn` order (the
   * key order within each tuple); tuples may interleave.
   */
  async related(
    columns: readonly string[],
    tuples: readonly DbValue[][],
    filters: readonly Filter[],
    lookup: FieldLookup,
    select: readonly string[],
    perTuple: number,
  ): Promise<DbRow[]> {
    const out: DbRow[] = [];
    for (const qb of this.relatedQueries(columns, tuples, filters, lookup, select, perTuple))
      for (const row of await this.guard(async () => (await qb) as DbRow[])) out.push(row);
    // A stable sort on the row number: each tuple's rows end up in key order.
    return out.sort((a, b) => Number(a.sluice_rn) - Number(b.sluice_rn));
  }

  allColumns(): readonly string[] {
    return this.columns;
  }

  async transaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.db.knex.transaction(fn);
  }

  /**
   * Turns the dialect's client-fault errors into DataRejectedError and its "cannot reach the
   * database" errors (whatever the driver: tedious ESOCKET, oracledb NJS-503, …) into
   * SourceUnavailableError (a 503); everything else passes through.
   */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      const kind = this.db.dialect.classifyError(err);
      if (kind) throw new DataRejectedError(kind, err);
      if (this.db.dialect.isUnavailable(err)) {
        this.db.availability?.unreachable(err);
        throw new SourceUnavailableError('the database cannot be reached right now', { cause: err });
      }
      throw err;
    }
    this.db.availability?.reached();
    return result;
  }
}
