// Compiled SELECTs per query shape. knex builds and compiles a statement once per shape (filters'
// fields and operators, order, columns, limit, parameter types); later requests of that shape only
// bind their values into the cached text and run it on the same pool and driver: straight on a
// pooled connection where the dialect can (no knex building, formatting or runner per request),
// else through knex.raw.
import type { Knex } from 'knex';
import type { SqlDialect } from '../sql/sql-dialect.js';
import type { SlotValue } from './query-filters.js';

/** Builds one request's query; every value that may differ between requests of a shape comes from `value`. */
export type StatementBuilder = (value: SlotValue) => Knex.QueryBuilder;

/** Compiled text plus, for each binding, the parameter slot it takes or the constant it is. */
type Binding = { readonly slot: number } | { readonly constant: Knex.Value };
interface Statement {
  readonly sql: string;
  /** The text with the driver's own placeholders ($1 on PostgreSQL). */
  readonly native: string;
  readonly bindings: readonly Binding[];
}

/** A stand-in value for `slot` that no request value can be mistaken for. */
const probePrefix = '\u0000sluice-slot:';
const probe = (slot: number) => `${probePrefix}${slot}`;

function typeTag(v: Knex.Value): string {
  if (v === null) return 'n';
  if (Buffer.isBuffer(v)) return 'b';
  return typeof v === 'object' ? 'o' : (typeof v)[0]!;
}

const sameBindings = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

export class StatementCache {
  /** Shape → statement; null marks a shape found not to be cacheable (built by knex every time). */
  private readonly statements = new Map<string, Statement | null>();

  constructor(
    private readonly knex: Knex,
    private readonly dialect: SqlDialect,
    private readonly max = 500,
  ) {}

  /** Shapes seen (tests). */
  get size(): number {
    return this.statements.size;
  }

  /** Shapes with a compiled statement (tests). */
  get compiled(): number {
    let n = 0;
    for (const st of this.statements.values()) if (st) n++;
    return n;
  }

  /**
   * Rows of the query `build` makes with `params`. `shape` must describe everything the SQL text
   * depends on except the parameters' values (their types are added here).
   */
  rows(
    shape: string,
    params: readonly Knex.Value[],
    build: StatementBuilder,
  ): Promise<Record<string, unknown>[]> {
    const rawRows = this.dialect.rawRows;
    const built = () => build((slot) => params[slot]!).then((rows) => rows as Record<string, unknown>[]);
    if (!rawRows) return built();
    let key = `${shape}|`;
    for (const p of params) key += typeTag(p);
    let st = this.statements.get(key);
    if (st === undefined) {
      st = this.compile(params, build);
      if (this.statements.size >= this.max) this.statements.clear();
      this.statements.set(key, st);
    }
    if (st === null) return built();
    const bindings = st.bindings.map((b) => ('slot' in b ? params[b.slot]! : b.constant));
    const direct = this.dialect.queryOnConnection;
    if (direct) return this.onConnection(direct, st.native, bindings);
    return this.knex.raw(st.sql, bindings).then(rawRows);
  }

  /** `run` on a connection of knex's pool, given back afterwards (knex's pool drops broken ones). */
  private async onConnection(
    run: NonNullable<SqlDialect['queryOnConnection']>,
    sql: string,
    values: readonly Knex.Value[],
  ): Promise<Record<string, unknown>[]> {
    const client = this.knex.client as {
      acquireConnection(): Promise<unknown>;
      releaseConnection(connection: unknown): Promise<void>;
    };
    const connection = await client.acquireConnection();
    try {
      return await run(connection, sql, values);
    } finally {
      void client.releaseConnection(connection);
    }
  }

  /**
   * Builds the query twice, with the values and with probes in their place, and keeps the text
   * only when both compile alike, every probe lands in one binding, and knex.raw of the text with
   * the values compiles to exactly what the builder compiles to.
   */
  private compile(params: readonly Knex.Value[], build: StatementBuilder): Statement | null {
    const real = build((slot) => params[slot]!).toSQL();
    const probed = build(probe).toSQL();
    if (real.sql !== probed.sql || real.bindings.length !== probed.bindings.length) return null;
    const bindings = probed.bindings.map((b): Binding => {
      if (typeof b === 'string' && b.startsWith(probePrefix))
        return { slot: Number(b.slice(probePrefix.length)) };
      return { constant: b };
    });
    const values = bindings.map((b) => ('slot' in b ? params[b.slot]! : b.constant));
    if (!sameBindings(values, real.bindings)) return null;
    const native = real.toNative();
    const raw = this.knex.raw(real.sql, values).toSQL().toNative();
    if (raw.sql !== native.sql || !sameBindings(raw.bindings, native.bindings)) return null;
    return { sql: real.sql, native: native.sql, bindings };
  }
}
