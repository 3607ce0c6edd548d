// Fake SQL Server and Oracle *drivers* (neither database runs here). They stand in for `tedious`
// (what knex's `mssql` client drives; the `mssql` package runs on it too) and `oracledb` at
// knex's `_driver()` seam, so knex's real client code runs over them: connection acquisition,
// binding placement (@p0 / :1), row assembly from tedious column arrays, oracledb result sets
// and commits. Answers are recorded catalog rows in each driver's own shapes.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import knexFactory from 'knex';
import tedious from 'tedious';
import { vi } from 'vitest';

// oracledb ships no type declarations: the constants the fake copies from the real module.
const oracledb = createRequire(import.meta.url)('oracledb') as Record<string, unknown> & {
  OUT_FORMAT_OBJECT: number;
  OUT_FORMAT_ARRAY: number;
  poolMax: number;
};

export interface SentQuery {
  readonly sql: string;
  readonly bindings: readonly unknown[];
}

/** A result set as a driver receives it from the server: typed columns, then rows of values. */
export interface RecordedResult {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly unknown[])[];
}

export type Responder = (q: SentQuery) => RecordedResult;

/** knex's client class for a client name, found without loading its driver (no connection given). */
function knexClientClass(client: string): { prototype: { _driver(): unknown } } {
  const k = knexFactory({ client });
  return Object.getPrototypeOf(k.client).constructor as { prototype: { _driver(): unknown } };
}

/**
 * tedious's Connection/Request surface as knex's mssql client uses it: `connect(cb)`,
 * `state.name`, `execSql(request)`, `row` events carrying `[{ value, metadata: { colName, type } }]`
 * (useColumnNames: false), then `request.callback(err, rowCount)` and `requestCompleted`.
 */
export function installFakeTedious(respond: Responder) {
  const sent: SentQuery[] = [];
  const configs: unknown[] = [];
  class Request extends EventEmitter {
    readonly parameters: { name: string; type: { name: string }; value: unknown }[] = [];
    readonly callback: (err: Error | null, rowCount?: number) => void;
    constructor(
      readonly sqlTextOrProcedure: string,
      userCallback: (err: Error | null, rowCount?: number) => void,
    ) {
      super();
      this.callback = (err, rowCount) => {
        userCallback(err, rowCount);
        this.emit('requestCompleted');
      };
    }
    addParameter(name: string, type: { name: string }, value: unknown): void {
      this.parameters.push({ name, type, value });
    }
  }
  class Connection extends EventEmitter {
    state = { name: 'Connecting' };
    constructor(readonly config: unknown) {
      super();
      configs.push(config);
    }
    connect(cb: (err?: Error) => void): void {
      setImmediate(() => {
        this.state = { name: 'LoggedIn' };
        cb();
      });
    }
    execSql(req: Request): void {
      this.state = { name: 'SentClientRequest' };
      const q = { sql: req.sqlTextOrProcedure, bindings: req.parameters.map((p) => p.value) };
      sent.push(q);
      setImmediate(() => {
        let result: RecordedResult;
        try {
          result = respond(q);
        } catch (err) {
          this.state = { name: 'LoggedIn' };
          req.callback(err as Error);
          return;
        }
        const types = tedious.TYPES as unknown as Record<string, unknown>;
        for (const row of result.rows)
          req.emit(
            'row',
            row.map((value, i) => ({
              value,
              metadata: { colName: result.columns[i]!.name, type: types[result.columns[i]!.type] },
            })),
          );
        this.state = { name: 'LoggedIn' };
        req.callback(null, result.rows.length);
      });
    }
    close(): void {
      setImmediate(() => this.emit('end'));
    }
  }
  const driver = { Connection, Request, TYPES: tedious.TYPES };
  const spy = vi.spyOn(knexClientClass('mssql').prototype, '_driver').mockReturnValue(driver);
  return { sent, configs, restore: () => spy.mockRestore() };
}

/**
 * oracledb's surface as knex's oracledb client uses it: `getConnection(cfg, cb)`, a connection
 * with `oracleServerVersionString`, `execute(sql, binds, options, cb)` answering `{ rows, metaData }`
 * (or `{ resultSet }` with `getRows(n, cb)` when asked), `commit`, `release`. Rows are objects keyed
 * by the column names as Oracle reports them only when `outFormat` is OUT_FORMAT_OBJECT, arrays otherwise.
 */
export function installFakeOracledb(respond: Responder) {
  const sent: SentQuery[] = [];
  const configs: unknown[] = [];
  const connection = {
    oracleServerVersionString: '19.3.0.0.0',
    execute(
      sql: string,
      binds: unknown[],
      options: { outFormat?: number; resultSet?: boolean },
      cb: (err: Error | null, result?: unknown) => void,
    ) {
      const q = { sql, bindings: binds };
      sent.push(q);
      setImmediate(() => {
        let result: RecordedResult;
        try {
          result = respond(q);
        } catch (err) {
          cb(err as Error);
          return;
        }
        const metaData = result.columns.map((c) => ({
          name: c.name,
          dbType: oracledb[`DB_TYPE_${c.type}`],
          dbTypeName: c.type,
          nullable: true,
        }));
        const rows = result.rows.map((r) =>
          options.outFormat === oracledb.OUT_FORMAT_OBJECT
            ? Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]]))
            : [...r],
        );
        if (!options.resultSet) {
          cb(null, { metaData, rows });
          return;
        }
        let at = 0;
        const resultSet = {
          metaData,
          getRows(n: number, done: (err: Error | null, rows: unknown[]) => void) {
            const chunk = rows.slice(at, at + n);
            at += chunk.length;
            setImmediate(() => done(null, chunk));
          },
          close(done?: () => void) {
            done?.();
            return Promise.resolve();
          },
        };
        cb(null, { metaData, resultSet });
      });
    },
    commit: (cb: (err: Error | null) => void) => setImmediate(() => cb(null)),
    rollback: (cb: (err: Error | null) => void) => setImmediate(() => cb(null)),
    release: async () => {},
    close: async () => {},
  };
  const driver = {
    OUT_FORMAT_OBJECT: oracledb.OUT_FORMAT_OBJECT,
    OUT_FORMAT_ARRAY: oracledb.OUT_FORMAT_ARRAY,
    BIND_OUT: oracledb.BIND_OUT,
    STRING: oracledb.STRING,
    BLOB: oracledb.BLOB,
    NUMBER: oracledb.NUMBER,
    DATE: oracledb.DATE,
    CLOB: oracledb.CLOB,
    BUFFER: oracledb.BUFFER,
    poolMax: oracledb.poolMax,
    getConnection(cfg: unknown, cb: (err: Error | null, c?: unknown) => void) {
      configs.push(cfg);
      setImmediate(() => cb(null, connection));
    },
  };
  const spy = vi.spyOn(knexClientClass('oracledb').prototype, '_driver').mockReturnValue(driver);
  return { sent, configs, restore: () => spy.mockRestore() };
}
